-- The rolling windows (24 h, 7 d, 30 d) kept as sums and moved forward each hour, instead of re-added
-- from error_days and error_hours every hour (≈ 107 rows per series: 3 s an hour at 10,000 series).
--
-- rolling_sums holds, per series, model and window, the error sums of the window that ended at
-- rolling_window.window_end, as the hourly refresh last computed them. The next refresh, ending at E',
-- adds the hours entering the window, takes out the hours leaving it, and adds what changed since then
-- in the hours the old window covered (a revised actual, a re-score, an undone import): error_sum_changes,
-- written by the statements that change error_hours (error-sums.ts) for those hours only. A refresh
-- without state, after a gap of a day or more, or going backwards recomputes from the sums as before.
create table rolling_window (
  one        boolean primary key default true check (one),
  window_end timestamptz not null
);

-- The sum columns are those of error_hours (0040), in the same order.
create table rolling_sums (
  series_id                 integer not null,
  model_version             text not null,
  window_name               text not null,
  n                         integer not null,
  abs_error_sum             double precision not null,
  squared_error_sum         double precision not null,
  error_sum                 double precision not null,
  pct_error_sum             double precision not null,
  pct_error_n               integer not null,
  persistence_abs_error_sum double precision not null,
  persistence_n             integer not null,
  skill_abs_error_sum       double precision not null,
  covered_n                 integer not null,
  interval_n                integer not null,
  fallback_n                integer not null,
  primary key (series_id, model_version, window_name)
);

-- Changes to error_hours since the last refresh, for hours inside its windows: per series, model and hour,
-- the amount each sum moved (negative when scores were taken out). Consumed by the next refresh.
create table error_sum_changes (like error_hours excluding all);
create index error_sum_changes_hour_idx on error_sum_changes (hour);

-- (select, insert and update by the default privileges of 0003)
grant delete on rolling_sums, error_sum_changes to pulse_app;

-- Partitioned raw storage with retention, and the additive error sums that outlive it.
--
-- predictions and evaluations become range-partitioned by target_hour, one partition per UTC month,
-- created ahead by pulse_maintain_storage (migrate, every hourly evaluation) and on demand by
-- pulse_ensure_partitions (every write of forecasts, so a backfill into the past finds its months).
-- Raw rows are kept for storage_settings.raw_retention (default 13 months): whole expired months are
-- dropped, never a row of a newer month. The error sums per series, model and hour (error_hours) and per
-- UTC day (error_days) are kept for ever; the hourly evaluation maintains them in its scoring statement
-- and reads its rolling windows from them instead of the raw evaluations.
--
-- Columns, their order and their types are those of 0001, so every reader and every stored row's text
-- stay as they were. Dropped on the way: the per-row foreign keys (predictions -> series, evaluations ->
-- predictions; rows are written set-based by statements that read the series and the predictions they
-- refer to, and a per-row key check was about a third of a backfill's write time) and the index
-- evaluations (target_hour), whose only reader was the old full rollup refresh.
-- Existing rows are copied into the partitions in this migration's transaction: none is lost.

create table storage_settings (
  id            boolean primary key default true check (id), -- exactly one row
  -- Raw predictions and evaluations older than this are dropped by whole months; aggregates are kept.
  raw_retention interval not null default interval '13 months' check (raw_retention >= interval '1 month'),
  -- Months of partitions kept ready beyond the current one.
  months_ahead  integer not null default 2 check (months_ahead between 1 and 24)
);
insert into storage_settings default values;

-- evaluation_terms (0010) reads evaluations: it is made again on the new table below.
drop view evaluation_terms;
alter table predictions rename to predictions_v1;
alter table evaluations rename to evaluations_v1;
alter index predictions_pkey rename to predictions_v1_pkey;
alter index evaluations_pkey rename to evaluations_v1_pkey;
alter index evaluations_target_hour_idx rename to evaluations_v1_target_hour_idx;

create table predictions (
  series_id       integer not null,
  model_version   text not null,
  horizon         integer not null check (horizon between 1 and 168),
  target_hour     timestamptz not null check (date_trunc('hour', target_hour) = target_hour),
  method          text not null,
  value           double precision check (value is null or value < 'Infinity'::double precision),
  lower_bound     double precision,
  upper_bound     double precision,
  issued_at       timestamptz not null,
  last_input_hour timestamptz not null,
  quality         text not null check (quality in ('ok', 'fallback', 'missed')),
  reason          text,
  run_id          bigint,
  created_at      timestamptz not null default now(),
  primary key (series_id, target_hour, horizon, model_version),
  check (target_hour = last_input_hour + horizon * interval '1 hour'),
  check ((quality = 'missed') = (value is null))
) partition by range (target_hour);

create table evaluations (
  series_id             integer not null,
  model_version         text not null,
  horizon               integer not null,
  target_hour           timestamptz not null,
  predicted             double precision not null,
  actual                double precision not null,
  error                 double precision not null,
  abs_error             double precision not null,
  squared_error         double precision not null,
  pct_error             double precision,
  persistence_abs_error double precision,
  covered               boolean,
  quality               text not null,
  scored_at             timestamptz not null default now(),
  primary key (series_id, target_hour, horizon, model_version)
) partition by range (target_hour);

-- Additive error terms of every scored forecast (those of evaluation_terms, 0010), summed per series, model
-- and target hour (all horizons together). Each metric is a function of 0010 over sums of these, so any
-- window is a sum of buckets. Kept for ever.
create table error_hours (
  series_id                 integer not null,
  model_version             text not null,
  hour                      timestamptz not null,
  n                         integer not null,               -- scored forecasts
  abs_error_sum             double precision not null,      -- Σ |e|, e = predicted - actual
  squared_error_sum         double precision not null,      -- Σ e²
  error_sum                 double precision not null,      -- Σ e
  pct_error_sum             double precision not null,      -- Σ 100 |e| / actual, over actual > 0
  pct_error_n               integer not null,
  persistence_abs_error_sum double precision not null,      -- Σ |e_persistence|, where known
  persistence_n             integer not null,
  skill_abs_error_sum       double precision not null,      -- Σ |e| where a persistence error exists
  covered_n                 integer not null,               -- actual inside the interval
  interval_n                integer not null,               -- forecasts with an interval
  fallback_n                integer not null,
  primary key (series_id, model_version, hour)
);
-- The hourly refresh reads the newest hours of every series.
create index error_hours_hour_idx on error_hours (hour);

-- The same sums per UTC day: a 30-day window is ≤ 30 of these plus the hours of its partial days.
create table error_days (like error_hours);
alter table error_days rename column hour to day;
alter table error_days add primary key (series_id, model_version, day);
create index error_days_day_idx on error_days (day);

-- Monthly partitions of predictions and evaluations covering [first_hour, last_hour]; returns how many
-- were created. Security definer: the functions' role may not create tables, only ask for partitions.
create function pulse_ensure_partitions(first_hour timestamptz, last_hour timestamptz) returns integer
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  month_start timestamp; -- UTC wall clock, so month arithmetic ignores the session's time zone
  last_month  timestamp;
  parent      text;
  part        text;
  created     integer := 0;
  locked      boolean := false;
begin
  if first_hour is null or last_hour is null or last_hour < first_hour then
    return 0;
  end if;
  month_start := date_trunc('month', first_hour at time zone 'UTC');
  last_month := date_trunc('month', last_hour at time zone 'UTC');
  if last_month - month_start > interval '20 years' then
    raise exception 'pulse_ensure_partitions: % … % spans more than 20 years', first_hour, last_hour
      using errcode = '22023';
  end if;
  while month_start <= last_month loop
    foreach parent in array array['predictions', 'evaluations'] loop
      part := format('%s_p%s', parent, to_char(month_start, 'YYYY_MM'));
      if to_regclass(format('public.%I', part)) is null then
        if not locked then
          -- Two writers may ask for the same month: the second waits here, then finds it.
          perform pg_advisory_xact_lock(7240118);
          locked := true;
        end if;
        begin
          execute format('create table public.%I partition of public.%I for values from (%L) to (%L)',
                         part, parent, month_start at time zone 'UTC',
                         (month_start + interval '1 month') at time zone 'UTC');
          created := created + 1;
        exception when duplicate_table then
          null; -- made by a concurrent writer that held the lock before us
        end;
      end if;
    end loop;
    month_start := month_start + interval '1 month';
  end loop;
  return created;
end $$;

-- The partitions Pulse made, with the month each covers (the part of the name after _p).
create view storage_partitions as
select parent.relname::text as parent, child.relname::text as partition,
       to_date(substring(child.relname from '_p(\d{4}_\d{2})$'), 'YYYY_MM')::timestamp at time zone 'UTC' as month_start
from pg_inherits i
join pg_class child on child.oid = i.inhrelid
join pg_class parent on parent.oid = i.inhparent
join pg_namespace ns on ns.oid = parent.relnamespace and ns.nspname = 'public'
where parent.relname in ('predictions', 'evaluations') and child.relname ~ '_p\d{4}_\d{2}$';

-- Hourly housekeeping: partitions for this month and the next months_ahead, and the expired months
-- (every raw row older than raw_retention before `at`, or before the newest scored hour if that is
-- older) dropped. A month is dropped only when its whole range has expired, so no newer row is ever
-- touched. Returns the partitions created and dropped.
create function pulse_maintain_storage(at timestamptz, out created integer, out dropped text[])
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  settings storage_settings;
  cutoff   timestamptz;
  expired  record;
begin
  select * into strict settings from storage_settings;
  created := pulse_ensure_partitions(
    at, ((date_trunc('month', at at time zone 'UTC') + settings.months_ahead * interval '1 month') at time zone 'UTC'));
  -- Relative to the newest scored hour when that is older than `at` (history loaded for a back-test,
  -- a database restored from a snapshot): retention never empties a database that is not fed any more.
  cutoff := least(at, coalesce((select max(hour) from error_hours), at)) - settings.raw_retention;
  dropped := array[]::text[];
  for expired in
    select p.partition from storage_partitions p
    where ((p.month_start at time zone 'UTC' + interval '1 month') at time zone 'UTC') <= cutoff
    order by p.month_start, p.parent
  loop
    execute format('drop table public.%I', expired.partition);
    dropped := dropped || expired.partition;
  end loop;
end $$;

revoke all on function pulse_ensure_partitions(timestamptz, timestamptz) from public;
revoke all on function pulse_maintain_storage(timestamptz) from public;
grant execute on function pulse_ensure_partitions(timestamptz, timestamptz) to pulse_app;
grant execute on function pulse_maintain_storage(timestamptz) to pulse_app;

-- Copy what exists (partitions for every month it covers, and the months ahead), then the sums. Nothing
-- is dropped here: retention starts with the next hourly evaluation (change storage_settings before, if
-- 13 months is not what this database should keep).
select pulse_ensure_partitions(min(target_hour), max(target_hour)) from predictions_v1;
select pulse_ensure_partitions(min(target_hour), max(target_hour)) from evaluations_v1;
select pulse_ensure_partitions(now(), now() + interval '2 months');

insert into predictions (series_id, model_version, horizon, target_hour, method, value, lower_bound, upper_bound,
                         issued_at, last_input_hour, quality, reason, run_id, created_at)
select series_id, model_version, horizon, target_hour, method, value, lower_bound, upper_bound,
       issued_at, last_input_hour, quality, reason, run_id, created_at
from predictions_v1;

insert into evaluations (series_id, model_version, horizon, target_hour, predicted, actual, error, abs_error,
                         squared_error, pct_error, persistence_abs_error, covered, quality, scored_at)
select series_id, model_version, horizon, target_hour, predicted, actual, error, abs_error,
       squared_error, pct_error, persistence_abs_error, covered, quality, scored_at
from evaluations_v1;

insert into error_hours
select series_id, model_version, target_hour, count(*), sum(abs_error), sum(squared_error), sum(error),
       coalesce(sum(pct_error), 0), count(pct_error), coalesce(sum(persistence_abs_error), 0),
       count(persistence_abs_error), coalesce(sum(abs_error) filter (where persistence_abs_error is not null), 0),
       count(*) filter (where covered), count(covered), count(*) filter (where quality = 'fallback')
from evaluations
group by series_id, model_version, target_hour;

insert into error_days
select series_id, model_version, date_trunc('day', hour, 'UTC'), sum(n), sum(abs_error_sum),
       sum(squared_error_sum), sum(error_sum), sum(pct_error_sum), sum(pct_error_n),
       sum(persistence_abs_error_sum), sum(persistence_n), sum(skill_abs_error_sum), sum(covered_n),
       sum(interval_n), sum(fallback_n)
from error_hours
group by series_id, model_version, date_trunc('day', hour, 'UTC');

drop table evaluations_v1;
drop table predictions_v1;

-- As in 0010: the additive terms of every scored forecast.
create view evaluation_terms as
select series_id, model_version, horizon, target_hour, quality,
       error, abs_error, squared_error, pct_error, persistence_abs_error,
       case when persistence_abs_error is not null then abs_error end as skill_abs_error,
       case when covered then 1 else 0 end as covered_n,
       case when covered is not null then 1 else 0 end as interval_n,
       case when quality = 'fallback' then 1 else 0 end as fallback_n
from evaluations;

-- Only the all-horizons rows (horizon 0) of the rolling windows are stored from now on: they are the
-- ones every reader uses, and they come from the error sums.
delete from metric_rollups where horizon <> 0;

grant select, insert, update on predictions, evaluations, error_hours, error_days to pulse_app;
grant select on predictions, evaluations, evaluation_terms, error_hours, error_days, storage_settings,
  storage_partitions to pulse_reader;
grant select on evaluation_terms to pulse_app;
-- The retention is the operator's (the owner's) setting; the functions only read it.
revoke insert, update on storage_settings from pulse_app;
grant select on storage_settings, storage_partitions to pulse_app;

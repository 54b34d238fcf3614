-- One row per forecast origin, the horizons as arrays; one row per scored target hour.
--
-- 0040 stored one row per (series, model, horizon, target hour) in predictions and another in evaluations:
-- about 430 B per forecast-hour, 94 GB after a year at 1,000 series. Everything an origin's horizons share
-- (series, model, method, quality, reason, issue time, run) is now stored once, in `forecasts`, with the
-- values and the interval as float8 arrays whose subscript is the horizon. A score stores only what the
-- forecast does not already hold: the actual it was scored against (one per target hour: every horizon
-- of a target hour is scored against the same actual), the horizons scored and their persistence errors,
-- in `scores`, one row per (series, model, target hour). Every other term of a score (error, |e|, e², % error,
-- covered) is a function of the forecast and that actual, computed on read by the `evaluations` view with
-- exactly the expressions the scoring statement used to store.
--
-- `predictions` and `evaluations` are now views with the columns, order and types of 0001, so every
-- reader and every row's text stay as they were; `evaluation_terms` (0010) reads the new `evaluations`.
-- Readers that filter by target hour should also bound last_input_hour (target − 168 h … target), which
-- the view maps straight to the forecasts' index.
--
-- Partitions: forecasts by origin month, scores by target month, created ahead as before; retention drops
-- whole months of each that are older than the cutoff (a forecast goes with all its horizons). Existing rows are moved in this migration's transaction; none is lost or
-- changed. The per-row bookkeeping of one origin (issued_at, run_id, created_at, method, quality, reason)
-- must agree across its horizons (the forecast run writes it so), as must the actual a target hour's
-- horizons were scored against (the evaluation re-scores them together): the migration stops, naming the
-- origin or hour, where they do not.

create table forecasts (
  series_id        integer not null,
  model_version    text not null,
  -- The origin: the newest actual the forecast was made from; horizon h targets last_input_hour + h hours.
  last_input_hour  timestamptz not null check (date_trunc('hour', last_input_hour) = last_input_hour),
  -- last_input_hour + the highest horizon: the evaluation finds the forecasts maturing at an hour by it.
  last_target_hour timestamptz not null,
  method           text not null,
  quality          text not null check (quality in ('ok', 'fallback', 'missed')),
  reason           text,
  issued_at        timestamptz not null,
  run_id           bigint,
  created_at       timestamptz not null default now(),
  -- Subscript = horizon. A null element of a forecast that is not 'missed' is a horizon never stored.
  value            double precision[] not null,
  lower_bound      double precision[],  -- null: no interval at any horizon
  upper_bound      double precision[],
  primary key (series_id, model_version, last_input_hour),
  check (array_ndims(value) = 1 and array_lower(value, 1) >= 1 and array_upper(value, 1) <= 168),
  check (last_target_hour = last_input_hour + array_upper(value, 1) * interval '1 hour'),
  check ('Infinity'::double precision > all (value)),
  -- missed: no value at any horizon; otherwise at least one
  check ((quality = 'missed') = (num_nonnulls(variadic value) = 0))
) partition by range (last_input_hour);
create index forecasts_series_last_target_idx on forecasts (series_id, last_target_hour);
-- Dashboards over many series read a time range of origins: rows are stored in origin order, so a block
-- range index finds them for a few kilobytes.
create index forecasts_origin_brin on forecasts using brin (last_input_hour);

create table scores (
  series_id             integer not null,
  model_version         text not null,
  target_hour           timestamptz not null,
  actual                double precision not null,  -- the value the horizons below were scored against
  -- The horizons scored, ascending; null when they are 1, 2, … (every horizon so far: the usual case).
  horizons              smallint[],
  -- |actual − actual(target − horizon)| per horizon scored (null: no persistence reference)
  persistence_abs_error double precision[] not null,
  scored_at             timestamptz not null default now(),
  -- When the horizons were scored at different times (a persistence reference revised later, a forecast
  -- stored after the others were scored): each horizon's time, as `horizons`; null when all share scored_at.
  horizon_scored_at     timestamptz[],
  primary key (series_id, model_version, target_hour),
  check (horizons is null or cardinality(horizons) = cardinality(persistence_abs_error)),
  check (horizon_scored_at is null or cardinality(horizon_scored_at) = cardinality(persistence_abs_error))
) partition by range (target_hour);

-- Partitions: months of forecasts (by origin) and of scores (by target) covering [first_hour, last_hour].
create or replace function pulse_ensure_partitions(first_hour timestamptz, last_hour timestamptz) returns integer
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
    foreach parent in array array['forecasts', 'scores'] loop
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

-- Hourly housekeeping, as in 0040: partitions ahead, expired months dropped: a month of forecasts once
-- its last origin, a month of scores once its last target hour is older than the retention. A forecast is
-- kept or dropped whole (every horizon), by when it was made; the oldest origin kept is in the month of
-- the cutoff, as weather retention (0080) assumes.
create or replace function pulse_maintain_storage(at timestamptz, out created integer, out dropped text[])
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  settings storage_settings;
  cutoff   timestamptz;
  expired  record;
begin
  select * into strict settings from storage_settings;
  created := pulse_ensure_partitions(
    at, ((date_trunc('month', at at time zone 'UTC') + settings.months_ahead * interval '1 month') at time zone 'UTC'));
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

-- Move what exists. Origins first: one row per (series, model, origin) with its horizons in place.
select pulse_ensure_partitions(min(last_input_hour), max(target_hour)) from predictions;
select pulse_ensure_partitions(min(target_hour), max(target_hour)) from evaluations;
select pulse_ensure_partitions(now(), now() + interval '2 months');

do $$
declare
  bad record;
begin
  select series_id, model_version, last_input_hour into bad
  from predictions
  group by series_id, model_version, last_input_hour
  having count(distinct (method, quality, coalesce(reason, ''), issued_at, coalesce(run_id, -1), created_at)) > 1
  limit 1;
  if found then
    raise exception 'forecast origin % of series % (model %) has horizons that disagree on method, quality, reason, issue time or run; fix them before this migration',
      bad.last_input_hour, bad.series_id, bad.model_version;
  end if;
  select series_id, model_version, target_hour into bad
  from evaluations
  group by series_id, model_version, target_hour
  having count(distinct actual) > 1
  limit 1;
  if found then
    raise exception 'target hour % of series % (model %) was scored against different actuals; re-score it (pulse evaluate --since) before this migration',
      bad.target_hour, bad.series_id, bad.model_version;
  end if;
end $$;

-- An origin's values by horizon: array subscript = horizon (a month dropped by 0040's retention may have
-- cut an origin's first horizons; a horizon without a row stays null).
create function pg_temp.by_horizon(horizons integer[], vals double precision[]) returns double precision[]
language plpgsql immutable as $$
declare
  placed double precision[];
begin
  placed := array_fill(null::double precision, array[horizons[cardinality(horizons)] - horizons[1] + 1], array[horizons[1]]);
  for i in 1 .. cardinality(horizons) loop
    placed[horizons[i]] := vals[i];
  end loop;
  return placed;
end $$;

insert into forecasts (series_id, model_version, last_input_hour, last_target_hour, method, quality, reason,
                       issued_at, run_id, created_at, value, lower_bound, upper_bound)
select series_id, model_version, last_input_hour, last_input_hour + max(horizon) * interval '1 hour',
       min(method), min(quality), min(reason), min(issued_at), min(run_id), min(created_at),
       pg_temp.by_horizon(array_agg(horizon order by horizon), array_agg(value order by horizon)),
       case when count(lower_bound) > 0
            then pg_temp.by_horizon(array_agg(horizon order by horizon), array_agg(lower_bound order by horizon)) end,
       case when count(upper_bound) > 0
            then pg_temp.by_horizon(array_agg(horizon order by horizon), array_agg(upper_bound order by horizon)) end
from predictions
group by series_id, model_version, last_input_hour;

insert into scores (series_id, model_version, target_hour, actual, horizons, persistence_abs_error, scored_at,
                    horizon_scored_at)
select series_id, model_version, target_hour, min(actual),
       case when min(horizon) <> 1 or max(horizon) <> count(*) then array_agg(horizon order by horizon)::smallint[] end,
       array_agg(persistence_abs_error order by horizon), max(scored_at),
       case when min(scored_at) <> max(scored_at) then array_agg(scored_at order by horizon) end
from evaluations
group by series_id, model_version, target_hour;

drop view evaluation_terms;
drop table evaluations;
drop table predictions;

-- The old tables, as views over the new ones: same columns, same order, same types, same values.
create view predictions as
select f.series_id, f.model_version, h.horizon::integer as horizon,
       f.last_input_hour + h.horizon * interval '1 hour' as target_hour, f.method, f.value[h.horizon] as value,
       f.lower_bound[h.horizon] as lower_bound, f.upper_bound[h.horizon] as upper_bound, f.issued_at,
       f.last_input_hour, f.quality, f.reason, f.run_id, f.created_at
from forecasts f
cross join lateral generate_subscripts(f.value, 1) as h (horizon)
where f.value[h.horizon] is not null or f.quality = 'missed';

-- The scoring statement stored these expressions (error-sums.ts); they are computed here instead. Each score
-- finds its forecast by the forecasts' primary key (series, model, origin = target − horizon), one probe per
-- score: `offset 0` keeps the planner from turning that into a join on (series, model) alone, which it
-- would choose whenever the statistics are not fresh yet (after a backfill) and which costs origins².
create view evaluations as
select s.series_id, s.model_version, h.horizon, s.target_hour, f.predicted, s.actual,
       f.predicted - s.actual as error, abs(f.predicted - s.actual) as abs_error,
       (f.predicted - s.actual) ^ 2 as squared_error, pulse_pct_error(f.predicted, s.actual) as pct_error,
       h.persistence_abs_error, pulse_covered(s.actual, f.lower_bound, f.upper_bound) as covered, f.quality,
       coalesce(h.scored_at, s.scored_at) as scored_at
from scores s
cross join lateral (
  select coalesce(u.horizon, u.i)::integer as horizon, u.persistence_abs_error, u.scored_at
  from unnest(s.horizons, s.persistence_abs_error, s.horizon_scored_at) with ordinality
    as u (horizon, persistence_abs_error, scored_at, i)
) h
cross join lateral (
  select f.value[h.horizon] as predicted, f.lower_bound[h.horizon] as lower_bound,
         f.upper_bound[h.horizon] as upper_bound, f.quality
  from forecasts f
  where f.series_id = s.series_id and f.model_version = s.model_version
    and f.last_input_hour = s.target_hour - h.horizon * interval '1 hour'
  offset 0
) f;

-- As in 0010: the additive terms of every scored forecast.
create view evaluation_terms as
select series_id, model_version, horizon, target_hour, quality,
       error, abs_error, squared_error, pct_error, persistence_abs_error,
       case when persistence_abs_error is not null then abs_error end as skill_abs_error,
       case when covered then 1 else 0 end as covered_n,
       case when covered is not null then 1 else 0 end as interval_n,
       case when quality = 'fallback' then 1 else 0 end as fallback_n
from evaluations;

create or replace view storage_partitions as
select parent.relname::text as parent, child.relname::text as partition,
       to_date(substring(child.relname from '_p(\d{4}_\d{2})$'), 'YYYY_MM')::timestamp at time zone 'UTC' as month_start
from pg_inherits i
join pg_class child on child.oid = i.inhrelid
join pg_class parent on parent.oid = i.inhparent
join pg_namespace ns on ns.oid = parent.relnamespace and ns.nspname = 'public'
where parent.relname in ('forecasts', 'scores') and child.relname ~ '_p\d{4}_\d{2}$';

grant select, insert, update on forecasts, scores to pulse_app;
grant select on predictions, evaluations, evaluation_terms to pulse_app;
grant select on forecasts, scores, predictions, evaluations, evaluation_terms to pulse_reader;

-- Statistics for the moved rows now, not at autovacuum's next visit: the views' joins are planned on them.
analyze forecasts;
analyze scores;

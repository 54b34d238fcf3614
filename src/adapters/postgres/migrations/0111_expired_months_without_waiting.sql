-- The hourly housekeeping drops an expired month only if it can lock it at once; otherwise it leaves it
-- for the next hour.
--
-- DROP TABLE of a partition takes ACCESS EXCLUSIVE on the partition and its parent. While it waits for a
-- reader (a dashboard or `pulse metrics` reading the evaluations view), every later query on the parent
-- queues behind it, the hourly forecast write included, for as long as the longest reader runs; and a
-- reader that had locked scores and then asked for forecasts deadlocked with it (PostgreSQL aborts one).
-- With a lock timeout below the deadlock timeout (1 s), the drop gives up first, the reader never waits
-- long, and nothing is lost: the month is dropped by a later hour. Same signature and retention rule as
-- 0070; only the drop changed.
create or replace function pulse_maintain_storage(at timestamptz, out created integer, out dropped text[])
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  settings storage_settings;
  cutoff   timestamptz;
  expired  record;
  previous text := current_setting('lock_timeout');
begin
  select * into strict settings from storage_settings;
  created := pulse_ensure_partitions(
    at, ((date_trunc('month', at at time zone 'UTC') + settings.months_ahead * interval '1 month') at time zone 'UTC'));
  cutoff := least(at, coalesce((select max(hour) from error_hours), at)) - settings.raw_retention;
  dropped := array[]::text[];
  -- Only for the drops (the months made above wait as before: a write may need them).
  perform set_config('lock_timeout', '500ms', true);
  for expired in
    select p.partition from storage_partitions p
    where ((p.month_start at time zone 'UTC' + interval '1 month') at time zone 'UTC') <= cutoff
    order by p.month_start, p.parent
  loop
    begin
      execute format('drop table public.%I', expired.partition);
      dropped := dropped || expired.partition;
    exception when lock_not_available then
      null; -- in use: the next hourly run tries again
    end;
  end loop;
  perform set_config('lock_timeout', previous, true);
end $$;

-- New months are made as tables of their own, then attached, instead of CREATE TABLE … PARTITION OF.
--
-- CREATE TABLE … PARTITION OF takes an ACCESS EXCLUSIVE lock on the parent. Making a month of forecasts
-- and then one of scores, the hourly housekeeping (or a backfill into the past) held forecasts and waited
-- for scores while a reader (a dashboard, `pulse metrics`) that had locked scores waited for forecasts:
-- PostgreSQL found the deadlock and aborted one of them (seen in the CLI fault suite). ATTACH PARTITION
-- takes SHARE UPDATE EXCLUSIVE on the parent, which readers and writers do not conflict with; the new
-- table is empty, so the attach has nothing to check, and it builds the parent's indexes on it.
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
          execute format('create table public.%I (like public.%I including defaults including constraints including storage)',
                         part, parent);
          execute format('alter table public.%I attach partition public.%I for values from (%L) to (%L)',
                         parent, part, month_start at time zone 'UTC',
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

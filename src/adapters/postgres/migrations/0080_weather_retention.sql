-- Retention of weather forecast vintages (issue 18), run by the hourly evaluation right after
-- pulse_maintain_storage drops the expired prediction months.
--
-- Every forecast still stored must stay rebuildable with the weather Pulse held when it was made. The
-- oldest prediction kept is in the month of the prediction cutoff (pulse_maintain_storage drops whole
-- months only), so the oldest origin to rebuild is the start of that month minus the longest horizon
-- (`origin_floor`). A rebuild at an origin T >= origin_floor reads, for every location, variable and
-- valid hour in [T - lag_hours, T + horizons], the newest value issued at or before T. So of the forecast
-- values issued at or before origin_floor only the newest per location, variable and valid hour can still
-- be read, and only for valid hours from origin_floor - lag_hours on; the rest is removed. Likewise for
-- weather_vintages (the freshness check reads the newest vintage at or before T): the newest per location
-- at or before origin_floor is kept. Observed weather (observed = true) is the training history and is
-- never removed here.
--
-- Bounded: at most max_rows rows per table and call; a backlog (the first run on an old store, a lowered
-- retention) drains over the following hours.

-- The retention scan reads forecast values by issue time; observed values are not its business.
create index weather_values_forecast_issued_idx on weather_values (issued_at) where not observed;

create function pulse_expire_weather(at timestamptz, horizon_hours integer, lag_hours integer, max_rows integer,
                                     out origin_floor timestamptz, out values_deleted integer,
                                     out vintages_deleted integer)
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  settings storage_settings;
  cutoff   timestamptz;
begin
  if horizon_hours < 1 or lag_hours < 0 or max_rows < 1 then
    raise exception 'pulse_expire_weather: horizon_hours (%) >= 1, lag_hours (%) >= 0, max_rows (%) >= 1',
      horizon_hours, lag_hours, max_rows using errcode = '22023';
  end if;
  select * into strict settings from storage_settings;
  -- The prediction cutoff of pulse_maintain_storage (0040), and the start of its month.
  cutoff := least(at, coalesce((select max(hour) from error_hours), at)) - settings.raw_retention;
  origin_floor := (date_trunc('month', cutoff at time zone 'UTC') at time zone 'UTC')
                  - horizon_hours * interval '1 hour';

  delete from weather_values w
  where w.ctid = any(array(
    select r.ctid from weather_values r
    where not r.observed and r.issued_at <= origin_floor
      and (r.valid_hour < origin_floor - lag_hours * interval '1 hour'
           or exists (
             select 1 from weather_values s
             where s.location = r.location and s.variable = r.variable and s.valid_hour = r.valid_hour
               and s.issued_at <= origin_floor
               and (s.issued_at > r.issued_at or (s.issued_at = r.issued_at and s.observed))))
    limit max_rows));
  get diagnostics values_deleted = row_count;

  delete from weather_vintages v
  where v.ctid = any(array(
    select r.ctid from weather_vintages r
    where r.issued_at < origin_floor
      and r.issued_at < (select max(n.issued_at) from weather_vintages n
                         where n.location = r.location and n.issued_at <= origin_floor)
    limit max_rows));
  get diagnostics vintages_deleted = row_count;
end $$;

revoke all on function pulse_expire_weather(timestamptz, integer, integer, integer) from public;
grant execute on function pulse_expire_weather(timestamptz, integer, integer, integer) to pulse_app;

-- Weather store (issue 18). Every value is kept with the time it was issued, so a forecast made at
-- 07:07 can be rebuilt later with exactly the weather forecasts Pulse held at 07:07 ("as of" reads).
-- Observed weather (reanalysis, station data) is stored with observed = true and issued_at = valid_hour.

create table weather_locations (
  name       text primary key check (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  latitude   double precision not null check (latitude between -90 and 90),
  longitude  double precision not null check (longitude between -180 and 180),
  created_at timestamptz not null default now()
);

create table weather_values (
  location    text not null references weather_locations (name),
  variable    text not null check (variable in ('temperature_2m', 'relative_humidity_2m', 'cloud_cover')),
  valid_hour  timestamptz not null check (date_trunc('hour', valid_hour) = valid_hour),
  -- When this value became known: the fetch of a forecast vintage, or valid_hour for observed weather.
  issued_at   timestamptz not null,
  observed    boolean not null default false,
  value       double precision not null check (value > '-Infinity'::double precision and value < 'Infinity'::double precision),
  source      text not null,
  received_at timestamptz not null default now(),
  check (not observed or issued_at = valid_hour),
  -- "Newest issued at or before T" per (location, variable, valid hour) is a backward scan of this key.
  primary key (location, variable, valid_hour, issued_at, observed)
);

-- One row per location and forecast fetch: when a vintage was issued, even if none of its values changed
-- (unchanged values are not stored again). Freshness of a series' weather is read here.
create table weather_vintages (
  location    text not null references weather_locations (name),
  issued_at   timestamptz not null,
  source      text not null,
  first_valid timestamptz not null,
  last_valid  timestamptz not null,
  hours       integer not null check (hours >= 0),
  primary key (location, issued_at)
);

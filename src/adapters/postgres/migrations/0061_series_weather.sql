-- Which weather locations a series follows, with weights summing to 1 (for Türkiye, the ten largest
-- cities by population share). Filled by the series configuration or `pulse import-weather --series`.
create table series_weather_locations (
  series_id integer not null references series (id),
  location  text not null references weather_locations (name),
  weight    double precision not null check (weight > 0 and weight <= 1),
  primary key (series_id, location)
);

-- Weather fetches are runs of their own, so the dashboards can show a weather outage apart from ingest.
alter table runs drop constraint runs_function_name_check;
alter table runs add constraint runs_function_name_check
  check (function_name in ('forecast', 'evaluate', 'ingest', 'backfill', 'migrate', 'weather'));

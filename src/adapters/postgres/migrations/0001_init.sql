-- Pulse schema, version 1. Hours are hour starts in UTC (timestamptz, aligned to the hour).

create table model_versions (
  version      text primary key,
  kind         text not null check (kind in ('onnx', 'baseline')),
  window_hours integer not null check (window_hours > 0),
  horizons     integer not null check (horizons between 1 and 168),
  quantiles    double precision[],
  sha256       text,
  metadata     jsonb not null default '{}'::jsonb,
  created_at   timestamptz not null default now()
);

create table series (
  id            integer generated always as identity primary key,
  name          text not null unique check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  unit          text not null default 'MWh',
  timezone      text not null default 'UTC',
  country       text check (country ~ '^[A-Z]{2}$'),
  model_version text references model_versions (version),
  active        boolean not null default true,
  -- Plausible band for input checks; null = derived from the window.
  min_plausible double precision,
  max_plausible double precision,
  created_at    timestamptz not null default now()
);

create table actuals (
  series_id        integer not null references series (id),
  hour             timestamptz not null check (date_trunc('hour', hour) = hour),
  value            double precision not null check (value >= 0 and value < 'Infinity'::double precision),
  first_received_at timestamptz not null default now(),
  last_received_at timestamptz not null default now(),
  revision_count   integer not null default 0,
  -- Transaction of the last insert or revision: evaluation scores what changed since its last run.
  changed_xid      xid8 not null default pg_current_xact_id(),
  primary key (series_id, hour)
);
create index actuals_changed_xid_idx on actuals (changed_xid);

create table runs (
  id            bigint generated always as identity primary key,
  function_name text not null check (function_name in ('forecast', 'evaluate', 'ingest', 'backfill', 'migrate')),
  trigger       text not null default 'manual',
  scheduled_for timestamptz,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz,
  duration_ms   double precision,
  outcome       text not null default 'running' check (outcome in ('running', 'success', 'partial', 'failed', 'skipped')),
  series_count  integer not null default 0,
  rows_written  integer not null default 0,
  fallback_count integer not null default 0,
  failed_count  integer not null default 0,
  error         text,
  details       jsonb not null default '{}'::jsonb
);
create index runs_function_started_idx on runs (function_name, started_at desc);

create table predictions (
  series_id       integer not null references series (id),
  -- The forecast stream: the model the series was assigned when the forecast was issued.
  model_version   text not null,
  horizon         integer not null check (horizon between 1 and 168),
  target_hour     timestamptz not null check (date_trunc('hour', target_hour) = target_hour),
  -- What actually produced the value: the model itself, or a baseline when quality = 'fallback'.
  method          text not null,
  value           double precision check (value is null or value < 'Infinity'::double precision),
  lower_bound     double precision,
  upper_bound     double precision,
  issued_at       timestamptz not null,
  last_input_hour timestamptz not null,
  quality         text not null check (quality in ('ok', 'fallback', 'missed')),
  reason          text,
  run_id          bigint, -- the run that issued it; no foreign key: runs are a log, not a parent
  created_at      timestamptz not null default now(),
  -- (series, target hour) first: evaluation joins actuals on it and dashboards read one series' period.
  primary key (series_id, target_hour, horizon, model_version),
  check (target_hour = last_input_hour + horizon * interval '1 hour'),
  check ((quality = 'missed') = (value is null))
);

create table evaluations (
  series_id             integer not null,
  model_version         text not null,
  horizon               integer not null,
  target_hour           timestamptz not null,
  predicted             double precision not null,
  actual                double precision not null,
  error                 double precision not null, -- predicted - actual (bias)
  abs_error             double precision not null,
  squared_error         double precision not null,
  pct_error             double precision,          -- |error| / actual * 100; null when actual = 0
  persistence_abs_error double precision,          -- |actual - actual(target - horizon)|, for skill
  covered               boolean,                   -- actual inside [lower, upper], null without interval
  quality               text not null,
  scored_at             timestamptz not null default now(),
  primary key (series_id, target_hour, horizon, model_version),
  foreign key (series_id, target_hour, horizon, model_version)
    references predictions (series_id, target_hour, horizon, model_version)
);
create index evaluations_target_hour_idx on evaluations (target_hour);

create table metric_rollups (
  series_id       integer not null references series (id),
  model_version   text not null,
  horizon         integer not null, -- 0 = all horizons together
  window_name     text not null check (window_name in ('24h', '7d', '30d')),
  window_end      timestamptz not null,
  n               integer not null,
  mae             double precision,
  rmse            double precision,
  mape            double precision,
  bias            double precision,
  persistence_mae double precision,
  skill           double precision, -- 1 - MAE / persistence MAE
  coverage        double precision,
  fallback_rate   double precision,
  computed_at     timestamptz not null default now(),
  primary key (series_id, model_version, horizon, window_name)
);

-- Holiday periods per country, written from the core's calendar so dashboards can shade them.
create table holidays (
  country   text not null,
  starts_at timestamptz not null,
  ends_at   timestamptz not null check (ends_at > starts_at),
  name      text not null,
  kind      text not null check (kind in ('holiday', 'half-day', 'bridge')),
  primary key (country, starts_at, name)
);

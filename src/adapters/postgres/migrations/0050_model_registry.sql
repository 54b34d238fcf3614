-- Model registry: every trained model version with its series, training span, data fingerprint,
-- hyper-parameters, validation and back-test figures and status; the assignment history per series;
-- and each champion/challenger decision with both sets of figures.
alter table model_versions
  add column series_id        integer references series (id),
  add column status           text check (status in ('candidate', 'champion', 'retired')),
  add column training_from    timestamptz,
  add column training_to      timestamptz,
  -- sha256 of the training actuals (hour, value) the model saw: same fingerprint = same data.
  add column data_fingerprint text,
  add column hyper_parameters jsonb,
  add column validation       jsonb,
  add column backtest         jsonb,
  -- Where the ONNX file and its metadata are kept (s3://… or a local folder).
  add column store_uri        text;

-- At most one champion per series.
create unique index model_versions_one_champion_idx on model_versions (series_id) where status = 'champion';
create index model_versions_series_idx on model_versions (series_id, created_at desc);

create table model_assignments (
  id               bigint generated always as identity primary key,
  series_id        integer not null references series (id),
  model_version    text not null references model_versions (version),
  previous_version text references model_versions (version),
  assigned_at      timestamptz not null default now(),
  reason           text not null
);
create index model_assignments_series_idx on model_assignments (series_id, assigned_at desc);

create table retraining_decisions (
  id                 bigint generated always as identity primary key,
  series_id          integer not null references series (id),
  -- Null when the challenger never got as far as the registry (training failed).
  challenger_version text references model_versions (version),
  champion_version   text references model_versions (version),
  decided_at         timestamptz not null default now(),
  promoted           boolean not null,
  reason             text not null,
  -- The recent period both were back-tested on (targets, inclusive).
  backtest_from      timestamptz,
  backtest_to        timestamptz,
  challenger_figures jsonb,
  champion_figures   jsonb
);
create index retraining_decisions_series_idx on retraining_decisions (series_id, decided_at desc);

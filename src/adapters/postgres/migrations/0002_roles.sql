-- Group roles (no login): deploy tooling grants them to login users.
-- pulse_app: what the functions need (read and write data, never change the schema).
-- pulse_reader: what Grafana needs (read only).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'pulse_app') then
    create role pulse_app nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'pulse_reader') then
    create role pulse_reader nologin;
  end if;
end
$$;

revoke create on schema public from public;
grant usage on schema public to pulse_app, pulse_reader;
grant select, insert, update on series, actuals, predictions, evaluations, metric_rollups, runs, model_versions, holidays to pulse_app;
grant delete on metric_rollups, holidays to pulse_app;
grant usage, select on all sequences in schema public to pulse_app;
grant select on all tables in schema public to pulse_reader;

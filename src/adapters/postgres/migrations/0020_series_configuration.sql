-- Series as configuration (pulse.config.json, applied by the migrate function on every deploy).
-- source: where the ingest function reads the series' actuals (null: imported with `pulse import`).
-- configured: the series comes from the configuration file; removing it from the file deactivates it
-- (its data stays). Series created by `pulse import` are not configured and never deactivated that way.
alter table series add column source jsonb check (source is null or jsonb_typeof(source) = 'object');
alter table series add column configured boolean not null default false;

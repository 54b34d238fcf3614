-- Tables and sequences that later migrations create (as the migrating role) get the same grants as
-- those of 0002 without each migration repeating them: read for Grafana, read and write for the functions.
alter default privileges in schema public grant select on tables to pulse_reader;
alter default privileges in schema public grant select, insert, update on tables to pulse_app;
alter default privileges in schema public grant usage, select on sequences to pulse_app;

-- Which process runs a run: the application_name of its connections ('pulse <host>:<pid>:<random>').
-- A run still 'running' whose holder has no connection left was killed (kill -9, a lost container, the
-- database restarted under it): the next run to start records it as failed, so no run stays 'running'.
alter table runs add column holder text;
create index runs_running_idx on runs (id) where outcome = 'running';

-- Every version of an actual is kept, with the time it was received; `actuals` keeps the current value,
-- the one every forecast and score uses. A revision moves the value it replaces into actual_versions
-- (received_at .. superseded_at), so "what did we know at time T" is always answerable:
--   the current row when actuals.last_received_at <= T, else the version with received_at <= T < superseded_at.
-- Imports are recorded, and the values an import brought can be undone (`pulse import --undo <id>`).

create table imports (
  id           bigint generated always as identity primary key,
  series_id    integer not null references series (id),
  source       text not null,                -- the file as given on the command line
  received_at  timestamptz not null,
  inserted     integer not null default 0,
  revised      integer not null default 0,
  unchanged    integer not null default 0,
  rejected     integer not null default 0,
  undone_at    timestamptz
);

-- The import that brought the current value; null for ingest and for rows older than this migration.
alter table actuals add column import_id bigint references imports (id);
create index actuals_import_idx on actuals (import_id) where import_id is not null;

create table actual_versions (
  id                    bigint generated always as identity primary key,
  series_id             integer not null references series (id),
  hour                  timestamptz not null,
  value                 double precision not null,
  received_at           timestamptz not null,  -- when this value was received (its last_received_at)
  import_id             bigint references imports (id),
  superseded_at         timestamptz not null,  -- when the next value replaced it
  superseded_by_import  bigint references imports (id)
);
create index actual_versions_hour_idx on actual_versions (series_id, hour, superseded_at);
create index actual_versions_superseded_by_idx on actual_versions (superseded_by_import)
  where superseded_by_import is not null;

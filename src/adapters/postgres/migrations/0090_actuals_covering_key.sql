-- The forecast run reads the newest two weeks of every series (336 hours × 10,000 series) and the scoring
-- statement looks up an actual for every forecast it scores. Actuals arrive hour by hour for all series, so
-- one series' hours lie on as many heap pages as hours: reading them through the key cost a page visit per
-- hour (5.8 s of 10,000 windows). The key now carries the value, so those reads are index-only scans over a
-- few leaf pages per series. It replaces the key index (same columns, same name), so no second index is
-- stored. Revisions are not slowed: they change changed_xid, which is indexed already, so they were never
-- heap-only updates.
--
-- An index-only scan skips the heap only on pages the visibility map marks all-visible, which vacuum sets.
-- By default autovacuum visits an insert-only table after 20 % of it is new (months of hourly inserts),
-- while the window read wants the newest hours: vacuum this table after every 10,000 inserted rows.
--
-- Building the index locks writes to actuals for its duration (about 4 s per 4 million rows here).
create unique index actuals_series_hour_value_idx on actuals (series_id, hour) include (value);
alter table actuals drop constraint actuals_pkey,
  add constraint actuals_pkey primary key using index actuals_series_hour_value_idx;
alter table actuals set (autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);

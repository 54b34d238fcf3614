-- Room on every page for the rows the hourly evaluation rewrites in place.
--
-- Every hourly refresh rewrites each row of rolling_sums and metric_rollups (3 per series and model), and
-- every scored hour rewrites its UTC day's row of error_days. A new row version that fits on the page of the
-- old one, with no indexed column changed, is heap-only: no new entry in any index, and the old version is
-- reclaimed by the next visit to the page. On full pages every rewrite inserts an entry in each index
-- instead (about half the cost of the refresh at 10,000 series). Half of each page is kept free for them.
--
-- rolling_sums and metric_rollups are rewritten now (CLUSTER, a few rows per series) so their existing pages
-- get that room; error_days is not: only the current day's rows are rewritten, and those are new pages.
alter table rolling_sums set (fillfactor = 50);
alter table metric_rollups set (fillfactor = 50);
alter table error_days set (fillfactor = 50);
cluster rolling_sums using rolling_sums_pkey;
cluster metric_rollups using metric_rollups_pkey;

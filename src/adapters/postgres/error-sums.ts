import type postgres from 'postgres';
import type { RollupSummary, ScoreRequest, ScoreResult } from '../../core/ports/stores.ts';
import { HORIZONS } from '../../core/features.ts';
import { HOUR_MS } from '../../core/time.ts';
import { transaction, type Sql } from './client.ts';
import { expireWeatherCall } from './weather-store.ts';

/** The first evaluation ever (no watermark yet) looks this far back. */
const DEFAULT_FIRST_LOOKBACK_MS = 35 * 24 * HOUR_MS;

/** Every scoring transaction takes this advisory lock: the error sums are maintained by difference. */
const SCORING_LOCK_KEY = 7_240_119;

/**
 * Settings of the scoring and refresh transactions. An hour of 10,000 series is 240,000 scores and 30,000
 * window rows: their sorts and hashes spill to disk at the default 4 MB. The commit does not wait for its
 * WAL to reach the disk: all they write is derived from actuals and forecasts, a crash loses at most the
 * last fraction of a second of it (consistently: each transaction is kept or lost whole, in order), and the
 * run, then recorded as failed, leaves the watermark where it was, so the next run does the work again.
 * The run's own record is committed synchronously after them, which makes them durable too.
 */
function transactionSettings(sql: AnySql) {
  return sql`set_config('work_mem', '64MB', true), set_config('synchronous_commit', 'off', true)`;
}

/** The rolling windows stored in metric_rollups, in hours up to and including the window's end hour. */
export const ROLLING_WINDOWS = [
  { name: '24h', hours: 24 },
  { name: '7d', hours: 168 },
  { name: '30d', hours: 720 },
] as const;

const LONGEST_WINDOW_HOURS = Math.max(...ROLLING_WINDOWS.map((w) => w.hours));

/**
 * The rolling sums move forward by the hours between two refreshes; after a longer gap (an outage, a
 * first run) or a refresh for an earlier hour, they are recomputed from error_days and error_hours.
 */
const MAX_MOVE_HOURS = 24;

/** The additive error terms kept per series, model and hour (error_hours) and UTC day (error_days), 0040. */
const SUM_COLUMNS = [
  'n',
  'abs_error_sum',
  'squared_error_sum',
  'error_sum',
  'pct_error_sum',
  'pct_error_n',
  'persistence_abs_error_sum',
  'persistence_n',
  'skill_abs_error_sum',
  'covered_n',
  'interval_n',
  'fallback_n',
] as const;

type AnySql = Sql | postgres.TransactionSql;

/** `n = s.n + r.n, abs_error_sum = s.abs_error_sum + r.abs_error_sum, …`: adds the sums of `r` to `s`. */
function addSums(sql: AnySql, to: string, from: string) {
  return SUM_COLUMNS.map((c) => sql`${sql(c)} = ${sql(to)}.${sql(c)} + ${sql(from)}.${sql(c)}`).reduce(
    (list, item) => sql`${list}, ${item}`,
  );
}

/** `sum(n), sum(abs_error_sum), …` in the column order of the sums tables: hours rolled up into days. */
function sumOfSums(sql: AnySql) {
  return SUM_COLUMNS.map((c) => sql`sum(${sql(c)}) as ${sql(c)}`).reduce(
    (list, item) => sql`${list}, ${item}`,
  );
}

/**
 * Common table expressions that add per-hour sums (`deltas`: series_id, model_version, hour and the sum
 * columns, negative to take scores out) to error_hours and, rolled up by UTC day, to error_days.
 */
function addToSums(sql: AnySql, deltas: string, insertMissing: boolean) {
  const hours = sql`select * from ${sql(deltas)}`;
  const days = sql`
    select series_id, model_version, date_trunc('day', hour, 'UTC') as day, ${sumOfSums(sql)}
    from ${sql(deltas)} group by 1, 2, 3`;
  // The rolling sums (0091) were computed for windows ending at rolling_window.window_end: a change to an
  // hour those windows covered is recorded for the next refresh; newer hours it reads when they enter.
  const logged = sql`
    changes_logged as (
      insert into error_sum_changes
      select d.* from ${sql(deltas)} d
      join rolling_window r on d.hour <= r.window_end
                           and d.hour > r.window_end - ${LONGEST_WINDOW_HOURS} * interval '1 hour'
    )`;
  if (insertMissing)
    return sql`
      hours_added as (
        insert into error_hours as s ${hours}
        on conflict (series_id, model_version, hour) do update set ${addSums(sql, 's', 'excluded')}
      ),
      days_added as (
        insert into error_days as s ${days}
        on conflict (series_id, model_version, day) do update set ${addSums(sql, 's', 'excluded')}
      ),
      ${logged}`;
  return sql`
    hours_added as (
      update error_hours s set ${addSums(sql, 's', 'r')} from (${hours}) r
      where s.series_id = r.series_id and s.model_version = r.model_version and s.hour = r.hour
    ),
    days_added as (
      update error_days s set ${addSums(sql, 's', 'r')} from (${days}) r
      where s.series_id = r.series_id and s.model_version = r.model_version and s.day = r.day
    ),
    ${logged}`;
}

/** The longest horizon a forecast may have (0001): a forecast issued more than this before an hour never targets it. */
const MAX_HORIZON_HOURS = 168;

/**
 * How far back the persistence references of a target hour are read in one pass: the horizons of the
 * models Pulse trains. A forecast with a longer horizon finds its reference by a probe of its own, so the
 * common case reads 24 actuals per target hour instead of 168 (at 10,000 series with 200 hours of actuals
 * the scoring statement went from 1.57 to 1.39 s).
 */
const REFERENCE_HOURS = HORIZONS;

/**
 * `at_changed`: per changed hour (the CTE `changed`) and model, the forecasts maturing there, scored in one
 * pass: the row `scores` would hold (horizons, persistence errors) and the error sums of its hour, as the
 * per-forecast path of scoreAndSum computes them for new scores. `was_scored` marks the target hours that
 * have a score row already: those are compared forecast by forecast instead, and their row here is unused.
 * One score-row probe and one read of the persistence references per target hour instead of one per forecast,
 * and no sort of every scored forecast into target hours.
 */
function freshScoresSql(sql: AnySql, until: Date) {
  const span = sql`${MAX_HORIZON_HOURS} * interval '1 hour'`;
  return sql`
    at_changed as (
      select c.series_id, x.model_version, c.hour as target_hour, c.value as actual, x.horizons,
             x.persistence_abs_error, x.n, x.abs_error_sum, x.squared_error_sum, x.error_sum, x.pct_error_sum,
             x.pct_error_n, x.persistence_abs_error_sum, x.persistence_n, x.skill_abs_error_sum, x.covered_n,
             x.interval_n, x.fallback_n,
             exists (select 1 from scores s
                     where s.series_id = c.series_id and s.model_version = x.model_version
                       and s.target_hour = c.hour) as was_scored
      from changed c
      -- the persistence references: the series' actuals in the REFERENCE_HOURS before the target, read once
      -- (ascending, from the key) instead of probed per forecast
      cross join lateral (
        select array_agg(a.hour order by a.hour) as hours, array_agg(a.value order by a.hour) as vals
        from actuals a
        where a.series_id = c.series_id and a.hour >= c.hour - ${REFERENCE_HOURS} * interval '1 hour'
          and a.hour < c.hour
      ) ref
      cross join lateral (
        select e.model_version,
               case when min(e.horizon) <> 1 or max(e.horizon) <> count(*)
                    then array_agg(e.horizon order by e.horizon)::smallint[] end as horizons,
               array_agg(e.persistence_abs_error order by e.horizon) as persistence_abs_error,
               count(*)::int as n, sum(abs(e.error)) as abs_error_sum, sum(e.error ^ 2) as squared_error_sum,
               sum(e.error) as error_sum, coalesce(sum(e.pct_error), 0) as pct_error_sum,
               count(e.pct_error)::int as pct_error_n,
               coalesce(sum(e.persistence_abs_error), 0) as persistence_abs_error_sum,
               count(e.persistence_abs_error)::int as persistence_n,
               coalesce(sum(abs(e.error)) filter (where e.persistence_abs_error is not null), 0) as skill_abs_error_sum,
               count(*) filter (where e.covered)::int as covered_n, count(e.covered)::int as interval_n,
               count(*) filter (where e.quality = 'fallback')::int as fallback_n
        from (
          -- the terms of each score: the expressions of the view evaluations
          select f.model_version, f.quality, k.horizon, f.value[k.horizon] - c.value as error,
                 pulse_pct_error(f.value[k.horizon], c.value) as pct_error,
                 pulse_covered(c.value, f.lower_bound[k.horizon], f.upper_bound[k.horizon]) as covered,
                 abs(c.value - r.reference) as persistence_abs_error
          from forecasts f
          cross join lateral (select (date_part('epoch', c.hour - f.last_input_hour) / 3600)::int as horizon) k
          -- the origin's actual: h places from the end of the window when its newest hours have no gap, else
          -- found by search (null when there is none); an origin before the window, by a probe
          cross join lateral (
            select case when ref.hours[cardinality(ref.hours) + 1 - k.horizon] = f.last_input_hour
                        then ref.vals[cardinality(ref.hours) + 1 - k.horizon]
                        when k.horizon <= ${REFERENCE_HOURS}
                        then ref.vals[array_position(ref.hours, f.last_input_hour)]
                        else (select o.value from actuals o
                              where o.series_id = f.series_id and o.hour = f.last_input_hour) end as reference
          ) r
          where f.series_id = c.series_id and f.last_target_hour >= c.hour and f.last_target_hour <= c.hour + ${span}
            and f.last_input_hour < c.hour and f.last_input_hour >= c.hour - ${span}
            and f.value[k.horizon] is not null
        ) e
        group by e.model_version
      ) x
      where c.hour <= ${until}
    )`;
}

/**
 * Scores what matured or was revised, and in the same statement adds each score's additive error
 * components to the error sums of its hour (error_hours) and UTC day (error_days): a new score adds its
 * contribution, a re-score adds the new one minus the old. Runs under an advisory lock so two runs never
 * subtract the same old contribution twice.
 *
 * A score is stored as its target hour's row of `scores` (0070): the actual, the horizons scored and their
 * persistence errors; the rest of each score is a function of the forecast and that actual (the view
 * `evaluations` computes it with the same expressions as `terms` below).
 */
export async function scoreAndSum(sql: Sql, request: ScoreRequest): Promise<ScoreResult> {
  const until = new Date(request.until);
  const now = new Date(request.now);
  return transaction(sql, async (tx) => {
    // The lock, the work memory and the last run's watermark in one round trip. (The watermark is read with
    // the snapshot taken before the lock was granted: a run that finished meanwhile is then looked at again,
    // which the comparison with its stored scores makes harmless; the scoring statement itself sees them.)
    const [state] = await tx<{ watermark: string | null }[]>`
      select ${transactionSettings(tx)},
             ${
               request.since === undefined
                 ? tx`(select details ->> 'watermark' from runs
                       where function_name = 'evaluate' and outcome = 'success' and details ? 'watermark'
                       order by id desc limit 1)`
                 : tx`null::text`
             } as watermark
      from pg_advisory_xact_lock(${SCORING_LOCK_KEY})`;
    const watermark = state?.watermark ?? null;
    // Which forecasts to look at: a window of target hours, or (the hourly case) only those whose actual
    // — or whose persistence reference, the actual they were made from — changed since the last run.
    // "Since" is by transaction id, not clock: the watermark is the oldest transaction still open at the
    // last run's snapshot, so a write that committed after that snapshot is always seen by the next run.
    const since = new Date(request.since ?? request.until - DEFAULT_FIRST_LOOKBACK_MS);
    const span = tx`${MAX_HORIZON_HOURS} * interval '1 hour'`;
    const fields = tx`f.series_id, f.model_version, f.last_input_hour, f.quality`;
    // The hourly case: the actuals written since the last run, and what matured at them. A changed hour
    // with no score row yet for a model (a new actual: nearly every one) is scored in one pass per target
    // hour (`fresh`); the rest goes through the per-forecast comparison with what was scored before.
    const incremental = watermark
      ? tx`
          changed as (
            select series_id, hour, value from actuals
            where changed_xid >= ${watermark}::xid8
          ),
          ${freshScoresSql(tx, until)},`
      : tx``;
    const matured = watermark
      ? tx`
          -- forecasts maturing at a changed hour that has a score row (a revised actual, a forecast stored late):
          -- issued before it, with a horizon reaching it (by the index on the last target hour; the origin
          -- bound prunes the partitions to one or two months); the actual is the changed row itself
          select ${fields}, a.target_hour, a.actual, k.horizon, f.value[k.horizon] as predicted,
                 f.lower_bound[k.horizon] as lower_bound, f.upper_bound[k.horizon] as upper_bound
          from at_changed a
          join forecasts f on f.series_id = a.series_id and f.model_version = a.model_version
                          and f.last_target_hour >= a.target_hour and f.last_target_hour <= a.target_hour + ${span}
                          and f.last_input_hour < a.target_hour and f.last_input_hour >= a.target_hour - ${span}
          -- (float8 arithmetic: extract() is numeric, which cost a quarter of a second per 240,000 scores)
          cross join lateral (select (date_part('epoch', a.target_hour - f.last_input_hour) / 3600)::int as horizon) k
          where a.was_scored
          union all
          -- forecasts issued from a changed hour (their persistence reference), at targets that can have matured
          select ${fields}, c.hour + g.horizon * interval '1 hour', a.value, g.horizon, f.value[g.horizon],
                 f.lower_bound[g.horizon], f.upper_bound[g.horizon]
          from changed c
          join forecasts f on f.series_id = c.series_id and f.last_input_hour = c.hour
                          and f.last_target_hour > c.hour and f.last_target_hour <= c.hour + ${span}
          cross join lateral generate_subscripts(f.value, 1) as g (horizon)
          join actuals a on a.series_id = f.series_id and a.hour = c.hour + g.horizon * interval '1 hour'
          -- (the first condition skips, before their forecasts are read, changed hours after which the series
          -- has no actual yet: nothing issued from them can be scored, as for the hourly run's newest hour)
          where exists (select 1 from actuals n
                        where n.series_id = c.series_id and n.hour > c.hour and n.hour <= ${until})
            and c.hour + g.horizon * interval '1 hour' <= ${until}
            -- a target that changed too is the first part's (so the parts never overlap: no de-duplication)
            and not exists (select 1 from changed x
                            where x.series_id = c.series_id and x.hour = c.hour + g.horizon * interval '1 hour')`
      : tx`
          select ${fields}, f.last_input_hour + g.horizon * interval '1 hour' as target_hour, a.value as actual,
                 g.horizon, f.value[g.horizon] as predicted, f.lower_bound[g.horizon] as lower_bound,
                 f.upper_bound[g.horizon] as upper_bound
          from forecasts f
          cross join lateral generate_subscripts(f.value, 1) as g (horizon)
          join actuals a on a.series_id = f.series_id and a.hour = f.last_input_hour + g.horizon * interval '1 hour'
          where f.last_input_hour >= ${since}::timestamptz - ${span} and f.last_input_hour < ${until}
            and f.last_input_hour + g.horizon * interval '1 hour' between ${since} and ${until}`;
    // The fresh target hours' rows and sums, beside those of the per-forecast path (disjoint: a target hour
    // is fresh only when it had no score row).
    const freshRows = watermark
      ? tx`
          union all
          select series_id, model_version, target_hour, actual, horizons, persistence_abs_error, ${now}::timestamptz, null
          from at_changed where not was_scored`
      : tx``;
    const freshDeltas = watermark
      ? tx`
          union all
          select series_id, model_version, target_hour, ${SUM_COLUMNS.map((c) => tx`${tx(c)}`).reduce((l, i) => tx`${l}, ${i}`)}
          from at_changed where not was_scored`
      : tx``;
    const freshCount = watermark
      ? tx`(select coalesce(sum(n), 0)::int from at_changed where not was_scored)`
      : tx`0`;
    const [counts] = await tx<{ scored: number; rescored: number; watermark: string }[]>`
      with ${incremental}
      matured as (${matured}),
      candidates as (
        select m.series_id, m.model_version, m.horizon, m.target_hour, m.predicted, m.lower_bound, m.upper_bound,
               m.quality, m.actual, abs(m.actual - pa.value) as persistence_abs_error,
               k.i is not null as was_scored, s.actual as old_actual,
               s.persistence_abs_error[k.i] as old_persistence_abs_error
        from matured m
        left join actuals pa on pa.series_id = m.series_id and pa.hour = m.last_input_hour
        left join scores s on s.series_id = m.series_id and s.model_version = m.model_version
                          and s.target_hour = m.target_hour
        -- where this horizon sits in the row's arrays, if it was scored (no list: horizons 1 … n)
        left join lateral (
          select case when s.horizons is not null then array_position(s.horizons, m.horizon::smallint)
                      when m.horizon <= cardinality(s.persistence_abs_error) then m.horizon end as i
        ) k on true
        where m.target_hour <= ${until}
          and m.predicted is not null
          and (k.i is null
               or s.actual <> m.actual
               or s.persistence_abs_error[k.i] is distinct from abs(m.actual - pa.value))
      ),
      -- The terms of each score, new and (for a re-score) old: the expressions of the view evaluations.
      scored as (
        select c.*, predicted - actual as error, abs(predicted - actual) as abs_error,
               (predicted - actual) ^ 2 as squared_error, pulse_pct_error(predicted, actual) as pct_error,
               pulse_covered(actual, lower_bound, upper_bound) as covered,
               case when was_scored then predicted - old_actual end as old_error,
               case when was_scored then abs(predicted - old_actual) end as old_abs_error,
               case when was_scored then (predicted - old_actual) ^ 2 end as old_squared_error,
               case when was_scored then pulse_pct_error(predicted, old_actual) end as old_pct_error,
               case when was_scored then pulse_covered(old_actual, lower_bound, upper_bound) end as old_covered
        from candidates c
      ),
      -- Each touched target hour's row: the horizons scored now, and those scored before and not touched.
      entries as (
        select series_id, model_version, target_hour, actual, horizon, persistence_abs_error,
               ${now}::timestamptz as scored_at
        from scored
        union all
        select s.series_id, s.model_version, s.target_hour, t.actual, coalesce(o.horizon, o.i)::int,
               o.persistence_abs_error, coalesce(o.scored_at, s.scored_at)
        from (select distinct series_id, model_version, target_hour, actual from scored) t
        join scores s on s.series_id = t.series_id and s.model_version = t.model_version
                     and s.target_hour = t.target_hour
        cross join lateral unnest(s.horizons, s.persistence_abs_error, s.horizon_scored_at) with ordinality
          as o (horizon, persistence_abs_error, scored_at, i)
        where not exists (select 1 from scored x
                          where x.series_id = s.series_id and x.model_version = s.model_version
                            and x.target_hour = s.target_hour and x.horizon = coalesce(o.horizon, o.i))
      ),
      written as (
        insert into scores as s (series_id, model_version, target_hour, actual, horizons, persistence_abs_error,
                                 scored_at, horizon_scored_at)
        select series_id, model_version, target_hour, actual,
               case when min(horizon) <> 1 or max(horizon) <> count(*)
                    then array_agg(horizon order by horizon)::smallint[] end,
               array_agg(persistence_abs_error order by horizon), max(scored_at),
               -- each horizon's own time only when they differ (a horizon re-scored alone)
               case when min(scored_at) <> max(scored_at) then array_agg(scored_at order by horizon) end
        from entries
        group by series_id, model_version, target_hour, actual
        ${freshRows}
        on conflict (series_id, model_version, target_hour) do update set
          actual = excluded.actual, horizons = excluded.horizons,
          persistence_abs_error = excluded.persistence_abs_error, scored_at = excluded.scored_at,
          horizon_scored_at = excluded.horizon_scored_at
      ),
      -- New contribution minus the old one, per series, model and hour.
      deltas as (
        select series_id, model_version, target_hour as hour,
               count(*) filter (where not was_scored)::int as n,
               sum(abs_error - coalesce(old_abs_error, 0)) as abs_error_sum,
               sum(squared_error - coalesce(old_squared_error, 0)) as squared_error_sum,
               sum(error - coalesce(old_error, 0)) as error_sum,
               coalesce(sum(coalesce(pct_error, 0) - coalesce(old_pct_error, 0)), 0) as pct_error_sum,
               (count(pct_error) - count(old_pct_error))::int as pct_error_n,
               coalesce(sum(coalesce(persistence_abs_error, 0) - coalesce(old_persistence_abs_error, 0)), 0)
                 as persistence_abs_error_sum,
               (count(persistence_abs_error) - count(old_persistence_abs_error))::int as persistence_n,
               coalesce(sum(case when persistence_abs_error is not null then abs_error else 0 end
                            - case when old_persistence_abs_error is not null then old_abs_error else 0 end), 0)
                 as skill_abs_error_sum,
               (count(*) filter (where covered) - count(*) filter (where old_covered))::int as covered_n,
               (count(covered) - count(old_covered))::int as interval_n,
               count(*) filter (where not was_scored and quality = 'fallback')::int as fallback_n
        from scored
        group by series_id, model_version, target_hour
        ${freshDeltas}
      ),
      ${addToSums(tx, 'deltas', true)}
      -- Under the lock nobody else scores, so what was unscored before is what this statement inserted.
      select count(*) filter (where not was_scored)::int + ${freshCount} as scored,
             count(*) filter (where was_scored)::int as rescored,
             pg_snapshot_xmin(pg_current_snapshot())::text as watermark
      from scored`;
    return {
      scored: counts!.scored,
      rescored: counts!.rescored,
      // A window re-score does not look at other changes, so only incremental runs move the watermark.
      watermark: request.since === undefined ? counts!.watermark : null,
    };
  }) as Promise<ScoreResult>;
}

/**
 * The error sums of each series and model over the rolling windows ending at `windowEnd`: whole UTC days
 * from error_days, the hours of the partial days at either edge from error_hours. At most 30 day rows
 * and 46 hour rows per window, whatever the history.
 */
export function windowSumsSql(sql: AnySql, windowEnd: Date) {
  const names = ROLLING_WINDOWS.map((w) => w.name);
  const hours = ROLLING_WINDOWS.map((w) => w.hours);
  return sql`
    with w as (
      select window_name, lo, hi, full_lo, full_hi, full_lo < full_hi as has_days
      from (
        select window_name,
               ${windowEnd}::timestamptz - (hours - 1) * interval '1 hour' as lo,
               ${windowEnd}::timestamptz + interval '1 hour' as hi,
               -- the first whole UTC day inside the window, and the midnight after the last one
               date_trunc('day', ${windowEnd}::timestamptz - (hours - 1) * interval '1 hour' + interval '23 hours', 'UTC')
                 as full_lo,
               date_trunc('day', ${windowEnd}::timestamptz + interval '1 hour', 'UTC') as full_hi
        from unnest(${names}::text[], ${hours}::int[]) as t (window_name, hours)
      ) b
    ),
    hour_ranges as (
      select window_name, lo as range_from, case when has_days then full_lo else hi end as range_to from w
      union all
      select window_name, full_hi, hi from w where has_days
    ),
    parts as (
      select r.window_name, h.series_id, h.model_version, h.n, h.abs_error_sum, h.squared_error_sum, h.error_sum,
             h.pct_error_sum, h.pct_error_n, h.persistence_abs_error_sum, h.persistence_n, h.skill_abs_error_sum,
             h.covered_n,
             h.interval_n, h.fallback_n
      from hour_ranges r
      join error_hours h on h.hour >= r.range_from and h.hour < r.range_to
      union all
      select w.window_name, d.series_id, d.model_version, d.n, d.abs_error_sum, d.squared_error_sum, d.error_sum,
             d.pct_error_sum, d.pct_error_n, d.persistence_abs_error_sum, d.persistence_n, d.skill_abs_error_sum,
             d.covered_n,
             d.interval_n, d.fallback_n
      from w
      join error_days d on d.day >= w.full_lo and d.day < w.full_hi
      where w.has_days
    )
    select series_id, model_version, window_name, sum(n)::int as n, sum(abs_error_sum) as abs_error_sum,
           sum(squared_error_sum) as squared_error_sum, sum(error_sum) as error_sum,
           sum(pct_error_sum) as pct_error_sum, sum(pct_error_n)::int as pct_error_n,
           sum(persistence_abs_error_sum) as persistence_abs_error_sum, sum(persistence_n)::int as persistence_n,
           sum(skill_abs_error_sum) as skill_abs_error_sum, sum(covered_n)::int as covered_n, sum(interval_n)::int as interval_n, sum(fallback_n)::int as fallback_n
    from parts
    group by series_id, model_version, window_name
    having sum(n) > 0`;
}

/**
 * The sums of each series, model and window ending at `windowEnd`, from those of the windows that ended
 * at `previousEnd` (rolling_sums, at most MAX_MOVE_HOURS earlier): plus the hours entering, minus the hours
 * leaving, plus what changed since in the hours the previous windows covered (`changes`: the rows of
 * error_sum_changes, which the statement deletes). About four rows per series and window instead of the
 * ≈ 107 a recomputation adds up.
 */
function movedWindowSumsSql(sql: AnySql, previousEnd: Date, windowEnd: Date) {
  const names = ROLLING_WINDOWS.map((w) => w.name);
  const hours = ROLLING_WINDOWS.map((w) => w.hours);
  const sums = (sign: 1 | -1, from: string) =>
    SUM_COLUMNS.map((c) => (sign > 0 ? sql`${sql(from)}.${sql(c)}` : sql`-${sql(from)}.${sql(c)}`)).reduce(
      (list, item) => sql`${list}, ${item}`,
    );
  return sql`
    with w as (select * from unnest(${names}::text[], ${hours}::int[]) as t (window_name, hours)),
    parts as (
      -- (known: the stream has a row in rolling_sums; shown: and one in metric_rollups, which the last
      -- refresh wrote for the streams with n > 0)
      select series_id, model_version, window_name, ${sums(1, 'rolling_sums')}, true as known, n > 0 as shown
      from rolling_sums
      union all
      -- the hours entering every window
      select h.series_id, h.model_version, w.window_name, ${sums(1, 'h')}, false, false
      from w join error_hours h on h.hour > ${previousEnd} and h.hour <= ${windowEnd}
      union all
      -- the hours leaving it
      select h.series_id, h.model_version, w.window_name, ${sums(-1, 'h')}, false, false
      from w join error_hours h on h.hour > ${previousEnd}::timestamptz - w.hours * interval '1 hour'
                               and h.hour <= ${windowEnd}::timestamptz - w.hours * interval '1 hour'
      union all
      -- changes since the previous refresh to the hours its window covered
      select c.series_id, c.model_version, w.window_name, ${sums(1, 'c')}, false, false
      from w join changes c on c.hour > ${previousEnd}::timestamptz - w.hours * interval '1 hour'
                           and c.hour <= ${previousEnd}
    )
    select series_id, model_version, window_name, sum(n)::int as n, sum(abs_error_sum) as abs_error_sum,
           sum(squared_error_sum) as squared_error_sum, sum(error_sum) as error_sum,
           sum(pct_error_sum) as pct_error_sum, sum(pct_error_n)::int as pct_error_n,
           sum(persistence_abs_error_sum) as persistence_abs_error_sum, sum(persistence_n)::int as persistence_n,
           sum(skill_abs_error_sum) as skill_abs_error_sum, sum(covered_n)::int as covered_n,
           sum(interval_n)::int as interval_n, sum(fallback_n)::int as fallback_n,
           bool_or(known) as known, bool_or(shown) as shown
    from parts
    group by series_id, model_version, window_name`;
}

/**
 * Rewrites metric_rollups (all horizons, 24 h / 7 d / 30 d up to the hour of `now`) from the rolling sums,
 * after the hourly housekeeping of the partitions. The sums move forward by the hour that passed
 * (movedWindowSumsSql), so its cost is a few rows per series, not the history.
 */
export async function refreshRollupsFromSums(sql: Sql, now: number): Promise<RollupSummary[]> {
  const windowEnd = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
  // Partitions made ahead and expired months dropped, then the weather no kept forecast needs (0080 reads
  // no forecast, so the order of the two does not matter), in one round trip outside the lock below.
  await sql`select m.created, w.values_deleted
            from pulse_maintain_storage(${new Date(now)}) m, ${expireWeatherCall(sql, now)} w`;
  const rows = await transaction(sql, async (tx) => {
    // The sums and their recorded changes hold still while the windows move (scoring takes this lock).
    // (≈ 4 moving or ≈ 110 recomputing sum rows per series are grouped by series, model and window)
    await tx`select ${transactionSettings(tx)} from pg_advisory_xact_lock(${SCORING_LOCK_KEY})`;
    // (read under the lock: the windows must move from the state the last refresh left)
    const [state] = await tx<{ end_ms: number }[]>`
      select extract(epoch from window_end)::float8 * 1000 as end_ms from rolling_window`;
    const previous = state?.end_ms;
    const moving =
      previous !== undefined &&
      previous <= windowEnd.getTime() &&
      windowEnd.getTime() - previous <= MAX_MOVE_HOURS * HOUR_MS;
    const rollupKey = (a: string, b: string) =>
      tx`${tx(a)}.series_id = ${tx(b)}.series_id and ${tx(a)}.model_version = ${tx(b)}.model_version
         and ${tx(a)}.window_name = ${tx(b)}.window_name`;
    const sumColumns = SUM_COLUMNS.map((c) => tx`${tx(c)}`).reduce((list, item) => tx`${list}, ${item}`);
    const metricColumns = [
      'n',
      'mae',
      'rmse',
      'mape',
      'bias',
      'persistence_mae',
      'skill',
      'coverage',
      'fallback_rate',
    ];
    return tx<
      {
        series_name: string;
        model_version: string;
        window_name: string;
        n: number;
        mape: number | null;
        fallback_rate: number | null;
      }[]
    >`
      -- the changes recorded since the last refresh are consumed (moving) or in the recomputed sums already
      with changes as (delete from error_sum_changes returning *),
      sums as (${
        moving
          ? movedWindowSumsSql(tx, new Date(previous), windowEnd)
          : tx`select r.*, null::boolean as known, null::boolean as shown from (${windowSumsSql(tx, windowEnd)}) r`
      }),
      -- every stream's row rewritten in place in one pass (a join, not a conflict check per row; heap-only
      -- updates, 0092), new streams added, and when recomputing, streams no window holds any more removed
      saved as (
        update rolling_sums r set
          ${SUM_COLUMNS.map((c) => tx`${tx(c)} = s.${tx(c)}`).reduce((list, item) => tx`${list}, ${item}`)}
        from sums s
        where ${rollupKey('r', 's')}
      ),
      added as (
        insert into rolling_sums (series_id, model_version, window_name, ${sumColumns})
        select series_id, model_version, window_name, ${sumColumns} from sums s
        where ${moving ? tx`not s.known` : tx`not exists (select 1 from rolling_sums r where ${rollupKey('r', 's')})`}
      ),
      ${
        moving
          ? tx``
          : tx`
      gone as (
        delete from rolling_sums r where not exists (select 1 from sums s where ${rollupKey('r', 's')})
      ),`
      }
      ended as (
        insert into rolling_window (window_end) values (${windowEnd})
        on conflict (one) do update set window_end = excluded.window_end
      ),
      -- The metrics are the functions of 0010_metric_functions.sql, over the same sums the raw rows give.
      metrics as (
        select series_id, model_version, window_name, n, pulse_mae(abs_error_sum, n) as mae,
               pulse_rmse(squared_error_sum, n) as rmse, pulse_mape(pct_error_sum, pct_error_n) as mape,
               pulse_bias(error_sum, n) as bias, pulse_mae(persistence_abs_error_sum, persistence_n) as persistence_mae,
               pulse_skill(skill_abs_error_sum, persistence_abs_error_sum) as skill,
               pulse_share(covered_n, interval_n) as coverage, pulse_share(fallback_n, n) as fallback_rate, shown
        from sums
        where n > 0
      ),
      -- The same for metric_rollups (all horizons): rewritten in place (heap-only updates, no delete and
      -- insert of every row with its key and foreign-key checks), new streams added, the rest removed. When
      -- moving, which rows to remove is known from the last refresh (shown), without an anti-join.
      rewritten as (
        update metric_rollups r set window_end = ${windowEnd}, computed_at = now(),
          ${metricColumns.map((c) => tx`${tx(c)} = m.${tx(c)}`).reduce((list, item) => tx`${list}, ${item}`)}
        from metrics m
        where ${rollupKey('r', 'm')} and r.horizon = 0
        returning r.series_id, r.model_version, r.window_name, r.n, r.mape, r.fallback_rate
      ),
      written as (
        insert into metric_rollups (series_id, model_version, horizon, window_name, window_end, n, mae, rmse, mape,
                                    bias, persistence_mae, skill, coverage, fallback_rate)
        select series_id, model_version, 0, window_name, ${windowEnd}, n, mae, rmse, mape, bias, persistence_mae,
               skill, coverage, fallback_rate
        from metrics m
        where ${
          moving
            ? // not rewritten: a new stream, or a row deleted since the last refresh (put back, not left out
              // until the next recomputation); an anti-join over this statement's own rewrites
              tx`not exists (select 1 from rewritten r where ${rollupKey('r', 'm')})`
            : tx`not exists (select 1 from metric_rollups r where ${rollupKey('r', 'm')} and r.horizon = 0)`
        }
        on conflict (series_id, model_version, horizon, window_name) do nothing
        returning series_id, model_version, window_name, n, mape, fallback_rate
      ),
      removed as (
        ${
          moving
            ? tx`delete from metric_rollups r using sums s
                 where ${rollupKey('r', 's')} and r.horizon = 0 and s.shown and not s.n > 0`
            : tx`delete from metric_rollups r
                 where r.horizon <> 0 or not exists (select 1 from metrics m where ${rollupKey('r', 'm')})`
        }
      )
      select s.name as series_name, w.model_version, w.window_name, w.n, w.mape, w.fallback_rate
      from (select * from rewritten union all select * from written) w join series s on s.id = w.series_id`;
  });
  return rows.map((r) => ({
    seriesName: r.series_name,
    modelVersion: r.model_version,
    horizon: 0,
    windowName: r.window_name,
    n: r.n,
    mape: r.mape,
    fallbackRate: r.fallback_rate,
  }));
}

/** Takes the lock every change of scores holds (scoring, removing scores), for the rest of `tx`. */
export async function lockScores(tx: postgres.TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${SCORING_LOCK_KEY})`;
}

/**
 * Common table expressions that take the scores a statement deletes out of the error sums. `removed`
 * names a CTE of that statement returning the deleted scores' terms as `evaluation_terms` (0010) gives
 * them (read them from that view in the same statement: it sees the rows as they were before). Run it
 * under lockScores.
 */
export function withoutScores(sql: AnySql, removed: string) {
  const terms = sql`
    select series_id, model_version, target_hour as hour, -count(*)::int as n, -sum(abs_error) as abs_error_sum,
           -sum(squared_error) as squared_error_sum, -sum(error) as error_sum,
           -coalesce(sum(pct_error), 0) as pct_error_sum, -count(pct_error)::int as pct_error_n,
           -coalesce(sum(persistence_abs_error), 0) as persistence_abs_error_sum,
           -count(persistence_abs_error)::int as persistence_n,
           -coalesce(sum(skill_abs_error), 0) as skill_abs_error_sum,
           -sum(covered_n)::int as covered_n, -sum(interval_n)::int as interval_n, -sum(fallback_n)::int as fallback_n
    from ${sql(removed)}
    group by series_id, model_version, target_hour`;
  return sql`
    removed_terms as (${terms}),
    ${addToSums(sql, 'removed_terms', false)}`;
}

import type postgres from 'postgres';
import type { RollupSummary, ScoreRequest, ScoreResult } from '../../core/ports/stores.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { Sql } from './client.ts';
import { expireWeather } from './weather-store.ts';

/** The first evaluation ever (no watermark yet) looks this far back. */
const DEFAULT_FIRST_LOOKBACK_MS = 35 * 24 * HOUR_MS;

/** Every scoring transaction takes this advisory lock: the error sums are maintained by difference. */
const SCORING_LOCK_KEY = 7_240_119;

/** The rolling windows stored in metric_rollups, in hours up to and including the window's end hour. */
export const ROLLING_WINDOWS = [
  { name: '24h', hours: 24 },
  { name: '7d', hours: 168 },
  { name: '30d', hours: 720 },
] as const;

/**
 * Scores what matured or was revised, and in the same statement adds each score's additive error
 * components to the error sums of its hour (error_hours) and UTC day (error_days): a new score adds its
 * contribution, a re-score adds the new one minus the old. Runs under an advisory lock so two runs never
 * subtract the same old contribution twice.
 */
export async function scoreAndSum(sql: Sql, request: ScoreRequest): Promise<ScoreResult> {
  const until = new Date(request.until);
  return sql.begin(async (tx) => {
    await lockScores(tx);
    let watermark: string | null = null;
    if (request.since === undefined) {
      const [last] = await tx<{ watermark: string | null }[]>`
        select details ->> 'watermark' as watermark from runs
        where function_name = 'evaluate' and outcome = 'success' and details ? 'watermark'
        order by id desc limit 1`;
      watermark = last?.watermark ?? null;
    }
    // Which predictions to look at: a window of target hours, or (the hourly case) only those whose actual
    // — or whose persistence reference, up to 24 h before — changed since the last run. "Since" is by
    // transaction id, not clock: the watermark is the oldest transaction still open at the last run's
    // snapshot, so a write that committed after that snapshot is always seen by the next run.
    const since = new Date(request.since ?? request.until - DEFAULT_FIRST_LOOKBACK_MS);
    // Each branch returns the prediction itself (by its key, through the primary key), so nothing is
    // looked up twice; a prediction found by both branches is the same row, and `union` keeps one.
    const fields = tx`p.series_id, p.model_version, p.horizon, p.target_hour, p.value, p.lower_bound, p.upper_bound,
                      p.last_input_hour, p.quality`;
    const matured = watermark
      ? tx`
          with changed as (
            select series_id, hour from actuals
            where changed_xid >= ${watermark}::xid8
          )
          select ${fields}
          from changed c join predictions p on p.series_id = c.series_id and p.target_hour = c.hour
          union
          -- the predictions that used the changed hour as their persistence reference: one key lookup per
          -- horizon (limit 1 keeps it a lookup), and only for targets that can have matured
          select ${fields}
          from changed c
          cross join generate_series(1, 24) as h (horizon)
          cross join lateral (
            select * from predictions p
            where p.series_id = c.series_id and p.target_hour = c.hour + h.horizon * interval '1 hour'
              and p.horizon = h.horizon
            limit 1
          ) p
          where c.hour + h.horizon * interval '1 hour' <= ${until}`
      : tx`
          select ${fields} from predictions p
          where p.target_hour between ${since} and ${until}`;
    const [counts] = await tx<{ scored: number; rescored: number; watermark: string }[]>`
      with matured as (${matured}),
      candidates as (
        select p.series_id, p.model_version, p.horizon, p.target_hour, p.value as predicted, p.quality,
               a.value as actual, abs(a.value - pa.value) as persistence_abs_error,
               pulse_covered(a.value, p.lower_bound, p.upper_bound) as covered,
               e.series_id is not null as was_scored, e.abs_error as old_abs_error,
               e.squared_error as old_squared_error, e.error as old_error, e.pct_error as old_pct_error,
               e.persistence_abs_error as old_persistence_abs_error, e.covered as old_covered
        from matured p
        join actuals a on a.series_id = p.series_id and a.hour = p.target_hour
        left join actuals pa on pa.series_id = p.series_id and pa.hour = p.last_input_hour
        left join evaluations e on e.series_id = p.series_id and e.target_hour = p.target_hour
                               and e.horizon = p.horizon and e.model_version = p.model_version
        where p.target_hour <= ${until}
          and p.value is not null
          and (e.series_id is null
               or e.actual <> a.value
               or e.persistence_abs_error is distinct from abs(a.value - pa.value))
      ),
      scores as (
        select c.*, predicted - actual as error, abs(predicted - actual) as abs_error,
               (predicted - actual) ^ 2 as squared_error,
               pulse_pct_error(predicted, actual) as pct_error
        from candidates c
      ),
      written as (
        insert into evaluations as e (series_id, model_version, horizon, target_hour, predicted, actual, error,
                                      abs_error, squared_error, pct_error, persistence_abs_error, covered, quality,
                                      scored_at)
        select series_id, model_version, horizon, target_hour, predicted, actual, error, abs_error, squared_error,
               pct_error, persistence_abs_error, covered, quality, ${new Date(request.now)}
        from scores
        on conflict (series_id, target_hour, horizon, model_version) do update set
          actual = excluded.actual, error = excluded.error, abs_error = excluded.abs_error,
          squared_error = excluded.squared_error, pct_error = excluded.pct_error,
          persistence_abs_error = excluded.persistence_abs_error, covered = excluded.covered,
          scored_at = excluded.scored_at
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
        from scores
        group by series_id, model_version, target_hour
      ),
      hours as (
        insert into error_hours as s
        select * from deltas
        on conflict (series_id, model_version, hour) do update set
          n = s.n + excluded.n, abs_error_sum = s.abs_error_sum + excluded.abs_error_sum,
          squared_error_sum = s.squared_error_sum + excluded.squared_error_sum,
          error_sum = s.error_sum + excluded.error_sum, pct_error_sum = s.pct_error_sum + excluded.pct_error_sum,
          pct_error_n = s.pct_error_n + excluded.pct_error_n,
          persistence_abs_error_sum = s.persistence_abs_error_sum + excluded.persistence_abs_error_sum,
          persistence_n = s.persistence_n + excluded.persistence_n,
          skill_abs_error_sum = s.skill_abs_error_sum + excluded.skill_abs_error_sum,
          covered_n = s.covered_n + excluded.covered_n,
          interval_n = s.interval_n + excluded.interval_n, fallback_n = s.fallback_n + excluded.fallback_n
      ),
      days as (
        insert into error_days as s
        select series_id, model_version, date_trunc('day', hour, 'UTC'), sum(n), sum(abs_error_sum),
               sum(squared_error_sum), sum(error_sum), sum(pct_error_sum), sum(pct_error_n),
               sum(persistence_abs_error_sum), sum(persistence_n), sum(skill_abs_error_sum), sum(covered_n),
               sum(interval_n), sum(fallback_n)
        from deltas
        group by series_id, model_version, date_trunc('day', hour, 'UTC')
        on conflict (series_id, model_version, day) do update set
          n = s.n + excluded.n, abs_error_sum = s.abs_error_sum + excluded.abs_error_sum,
          squared_error_sum = s.squared_error_sum + excluded.squared_error_sum,
          error_sum = s.error_sum + excluded.error_sum, pct_error_sum = s.pct_error_sum + excluded.pct_error_sum,
          pct_error_n = s.pct_error_n + excluded.pct_error_n,
          persistence_abs_error_sum = s.persistence_abs_error_sum + excluded.persistence_abs_error_sum,
          persistence_n = s.persistence_n + excluded.persistence_n,
          skill_abs_error_sum = s.skill_abs_error_sum + excluded.skill_abs_error_sum,
          covered_n = s.covered_n + excluded.covered_n,
          interval_n = s.interval_n + excluded.interval_n, fallback_n = s.fallback_n + excluded.fallback_n
      )
      -- Under the lock nobody else scores, so what was unscored before is what this statement inserted.
      select count(*) filter (where not was_scored)::int as scored,
             count(*) filter (where was_scored)::int as rescored,
             pg_snapshot_xmin(pg_current_snapshot())::text as watermark
      from scores`;
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
export function windowSumsSql(sql: Sql | postgres.TransactionSql, windowEnd: Date) {
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
 * Rewrites metric_rollups (all horizons, 24 h / 7 d / 30 d up to the hour of `now`) from the error sums,
 * after the hourly housekeeping of the partitions. Its cost is a few rows per series, not the history.
 */
export async function refreshRollupsFromSums(sql: Sql, now: number): Promise<RollupSummary[]> {
  const windowEnd = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
  await sql`select pulse_maintain_storage(${new Date(now)})`;
  await expireWeather(sql, now);
  const rows = await sql.begin(async (tx) => {
    // ≈ 110 sum rows per series are grouped by series, model and window: in memory, not by sorting.
    await tx`set local work_mem = '64MB'`;
    await tx`delete from metric_rollups`;
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
      with sums as (${windowSumsSql(tx, windowEnd)}),
      -- The metrics are the functions of 0010_metric_functions.sql, over the same sums the raw rows give.
      metrics as (
        select series_id, model_version, window_name, n, pulse_mae(abs_error_sum, n) as mae,
               pulse_rmse(squared_error_sum, n) as rmse, pulse_mape(pct_error_sum, pct_error_n) as mape,
               pulse_bias(error_sum, n) as bias, pulse_mae(persistence_abs_error_sum, persistence_n) as persistence_mae,
               pulse_skill(skill_abs_error_sum, persistence_abs_error_sum) as skill,
               pulse_share(covered_n, interval_n) as coverage, pulse_share(fallback_n, n) as fallback_rate
        from sums
      ),
      written as (
        insert into metric_rollups (series_id, model_version, horizon, window_name, window_end, n, mae, rmse, mape,
                                    bias, persistence_mae, skill, coverage, fallback_rate)
        select series_id, model_version, 0, window_name, ${windowEnd}, n, mae, rmse, mape, bias, persistence_mae,
               skill, coverage, fallback_rate
        from metrics
        returning series_id, model_version, window_name, n, mape, fallback_rate
      )
      select s.name as series_name, w.model_version, w.window_name, w.n, w.mape, w.fallback_rate
      from written w join series s on s.id = w.series_id`;
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
 * names a CTE of that statement returning the deleted evaluations' columns (`delete ... returning e.*`).
 * Run it under lockScores.
 */
export function withoutScores(sql: Sql | postgres.TransactionSql, removed: string) {
  const terms = sql`
    select series_id, model_version, target_hour as hour, -count(*)::int as n, -sum(abs_error) as abs_error_sum,
           -sum(squared_error) as squared_error_sum, -sum(error) as error_sum,
           -coalesce(sum(pct_error), 0) as pct_error_sum, -count(pct_error)::int as pct_error_n,
           -coalesce(sum(persistence_abs_error), 0) as persistence_abs_error_sum,
           -count(persistence_abs_error)::int as persistence_n,
           -coalesce(sum(abs_error) filter (where persistence_abs_error is not null), 0) as skill_abs_error_sum,
           -(count(*) filter (where covered))::int as covered_n, -count(covered)::int as interval_n,
           -(count(*) filter (where quality = 'fallback'))::int as fallback_n
    from ${sql(removed)}
    group by series_id, model_version, target_hour`;
  const add = sql`
    n = s.n + r.n, abs_error_sum = s.abs_error_sum + r.abs_error_sum,
    squared_error_sum = s.squared_error_sum + r.squared_error_sum, error_sum = s.error_sum + r.error_sum,
    pct_error_sum = s.pct_error_sum + r.pct_error_sum, pct_error_n = s.pct_error_n + r.pct_error_n,
    persistence_abs_error_sum = s.persistence_abs_error_sum + r.persistence_abs_error_sum,
    persistence_n = s.persistence_n + r.persistence_n, skill_abs_error_sum = s.skill_abs_error_sum + r.skill_abs_error_sum,
    covered_n = s.covered_n + r.covered_n, interval_n = s.interval_n + r.interval_n,
    fallback_n = s.fallback_n + r.fallback_n`;
  return sql`
    removed_terms as (${terms}),
    removed_from_hours as (
      update error_hours s set ${add}
      from removed_terms r
      where s.series_id = r.series_id and s.model_version = r.model_version and s.hour = r.hour
    ),
    removed_from_days as (
      update error_days s set ${add}
      from (
        select series_id, model_version, date_trunc('day', hour, 'UTC') as day, sum(n) as n,
               sum(abs_error_sum) as abs_error_sum, sum(squared_error_sum) as squared_error_sum,
               sum(error_sum) as error_sum, sum(pct_error_sum) as pct_error_sum, sum(pct_error_n) as pct_error_n,
               sum(persistence_abs_error_sum) as persistence_abs_error_sum, sum(persistence_n) as persistence_n,
               sum(skill_abs_error_sum) as skill_abs_error_sum, sum(covered_n) as covered_n,
               sum(interval_n) as interval_n, sum(fallback_n) as fallback_n
        from removed_terms group by 1, 2, 3
      ) r
      where s.series_id = r.series_id and s.model_version = r.model_version and s.day = r.day
    )`;
}

import type { EvaluationStore, RollupSummary, ScoreRequest, ScoreResult } from '../../core/ports/stores.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { Sql } from './client.ts';

/** The first evaluation ever (no watermark yet) looks this far back. */
const DEFAULT_FIRST_LOOKBACK_MS = 35 * 24 * HOUR_MS;

/** Scores matured forecasts and keeps the rolling metrics, each step one set-based statement. */
export class PostgresEvaluationStore implements EvaluationStore {
  constructor(private readonly sql: Sql) {}

  async scorePredictions(request: ScoreRequest): Promise<ScoreResult> {
    const sql = this.sql;
    const until = new Date(request.until);
    let watermark: string | null = null;
    if (request.since === undefined) {
      const [last] = await sql<{ watermark: string | null }[]>`
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
    const keys = watermark
      ? sql`
          with changed as (
            select series_id, hour from actuals
            where changed_xid >= ${watermark}::xid8
          )
          select p.series_id, p.target_hour, p.horizon, p.model_version
          from changed c join predictions p on p.series_id = c.series_id and p.target_hour = c.hour
          union
          select p.series_id, p.target_hour, p.horizon, p.model_version
          from changed c join predictions p on p.series_id = c.series_id
           and p.target_hour > c.hour and p.target_hour <= c.hour + interval '24 hours'
           and p.last_input_hour = c.hour`
      : sql`
          select series_id, target_hour, horizon, model_version from predictions
          where target_hour between ${since} and ${until}`;
    const [counts] = await sql<{ scored: number; rescored: number; watermark: string }[]>`
      with keys as (${keys}),
      candidates as (
        select p.series_id, p.model_version, p.horizon, p.target_hour, p.value as predicted, p.quality,
               a.value as actual, abs(a.value - pa.value) as persistence_abs_error,
               pulse_covered(a.value, p.lower_bound, p.upper_bound) as covered
        from keys k
        join predictions p on p.series_id = k.series_id and p.target_hour = k.target_hour
                          and p.horizon = k.horizon and p.model_version = k.model_version
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
      written as (
        insert into evaluations as e (series_id, model_version, horizon, target_hour, predicted, actual, error,
                                      abs_error, squared_error, pct_error, persistence_abs_error, covered, quality,
                                      scored_at)
        select series_id, model_version, horizon, target_hour, predicted, actual, predicted - actual,
               abs(predicted - actual), (predicted - actual) ^ 2,
               pulse_pct_error(predicted, actual),
               persistence_abs_error, covered, quality, ${new Date(request.now)}
        from candidates
        on conflict (series_id, target_hour, horizon, model_version) do update set
          actual = excluded.actual, error = excluded.error, abs_error = excluded.abs_error,
          squared_error = excluded.squared_error, pct_error = excluded.pct_error,
          persistence_abs_error = excluded.persistence_abs_error, covered = excluded.covered,
          scored_at = excluded.scored_at
        returning (xmax = 0) as inserted
      )
      select count(*) filter (where inserted)::int as scored, count(*) filter (where not inserted)::int as rescored,
             pg_snapshot_xmin(pg_current_snapshot())::text as watermark
      from written`;
    return {
      scored: counts!.scored,
      rescored: counts!.rescored,
      // A window re-score does not look at other changes, so only incremental runs move the watermark.
      watermark: request.since === undefined ? counts!.watermark : null,
    };
  }

  async refreshRollups(now: number): Promise<RollupSummary[]> {
    const windowEnd = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
    return this.sql.begin(async (tx) => {
      await tx`delete from metric_rollups`;
      const rows = await tx<
        {
          series_name: string;
          model_version: string;
          horizon: number;
          window_name: string;
          n: number;
          mape: number | null;
          fallback_rate: number | null;
        }[]
      >`
        -- One pass over the last 30 days: sums of the terms per horizon and window, then the all-horizons
        -- row from them; the metrics are the functions of 0010_metric_functions.sql.
        with sums as (
          select e.series_id, e.model_version, e.horizon, w.window_name,
                 count(*)::float8 as n, sum(e.abs_error) as abs_sum, sum(e.squared_error) as sq_sum,
                 sum(e.pct_error) as pct_sum, count(e.pct_error)::float8 as pct_n, sum(e.error) as err_sum,
                 sum(e.persistence_abs_error) as pers_sum, count(e.persistence_abs_error)::float8 as pers_n,
                 sum(e.skill_abs_error) as skill_abs_sum, sum(e.covered_n)::float8 as covered_n,
                 sum(e.interval_n)::float8 as interval_n, sum(e.fallback_n)::float8 as fallback_n
          from evaluation_terms e
          cross join lateral (values ('24h', 24), ('7d', 168), ('30d', 720)) as w (window_name, hours)
          where e.target_hour > ${windowEnd}::timestamptz - interval '720 hours'
            and e.target_hour <= ${windowEnd}::timestamptz
            and e.target_hour > ${windowEnd}::timestamptz - w.hours * interval '1 hour'
          group by e.series_id, e.model_version, e.horizon, w.window_name
        ),
        all_horizons as (
          select * from sums
          union all
          select series_id, model_version, 0, window_name, sum(n), sum(abs_sum), sum(sq_sum), sum(pct_sum),
                 sum(pct_n), sum(err_sum), sum(pers_sum), sum(pers_n), sum(skill_abs_sum), sum(covered_n),
                 sum(interval_n), sum(fallback_n)
          from sums group by series_id, model_version, window_name
        ),
        agg as (
          select series_id, model_version, horizon, window_name, n::int as n,
                 pulse_mae(abs_sum, n) as mae, pulse_rmse(sq_sum, n) as rmse, pulse_mape(pct_sum, pct_n) as mape,
                 pulse_bias(err_sum, n) as bias, pulse_mae(pers_sum, pers_n) as persistence_mae,
                 pulse_skill(skill_abs_sum, pers_sum) as skill, pulse_share(covered_n, interval_n) as coverage,
                 pulse_share(fallback_n, n) as fallback_rate
          from all_horizons
        ),
        written as (
          insert into metric_rollups (series_id, model_version, horizon, window_name, window_end, n, mae, rmse,
                                      mape, bias, persistence_mae, skill, coverage, fallback_rate)
          select series_id, model_version, horizon, window_name, ${windowEnd}, n, mae, rmse, mape, bias,
                 persistence_mae, skill, coverage, fallback_rate
          from agg
          returning series_id, model_version, horizon, window_name, n, mape, fallback_rate
        )
        select s.name as series_name, w.model_version, w.horizon, w.window_name, w.n, w.mape, w.fallback_rate
        from written w join series s on s.id = w.series_id
        where w.horizon = 0 -- the caller needs the per-series summary, not every horizon's row`;
      return rows.map((r) => ({
        seriesName: r.series_name,
        modelVersion: r.model_version,
        horizon: r.horizon,
        windowName: r.window_name,
        n: r.n,
        mape: r.mape,
        fallbackRate: r.fallback_rate,
      }));
    }) as Promise<RollupSummary[]>;
  }
}

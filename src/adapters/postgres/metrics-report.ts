import type { Sql } from './client.ts';

export interface MetricsRow {
  series: string;
  model_version: string;
  horizon: number;
  n: number;
  mae: number | null;
  rmse: number | null;
  mape: number | null;
  bias: number | null;
  skill: number | null;
  coverage: number | null;
  fallback_rate: number | null;
}

export interface MetricsQuery {
  readonly seriesNames?: readonly string[];
  /** Only this forecast stream; default: every model. */
  readonly modelVersion?: string;
  /** Target hours [from, to]; default: everything scored. */
  readonly from?: number;
  readonly to?: number;
  /** Horizons to list one by one; the 'all horizons' row is always included (horizon 0). */
  readonly horizons: readonly number[];
}

/** The metrics table of the CLI and the demo. */
export class PostgresMetricsReport {
  constructor(private readonly sql: Sql) {}

  /** Error metrics per series, model and horizon over a period, straight from the evaluations (one query). */
  async byHorizon(query: MetricsQuery): Promise<MetricsRow[]> {
    const sql = this.sql;
    const names = query.seriesNames ? [...query.seriesNames] : null;
    const model = query.modelVersion ?? null;
    const from = query.from === undefined ? null : new Date(query.from);
    const to = query.to === undefined ? null : new Date(query.to);
    return sql<MetricsRow[]>`
    select s.name as series, e.model_version, coalesce(e.horizon, 0) as horizon, count(*)::int as n,
           pulse_mae(sum(e.abs_error), count(*)) as mae, pulse_rmse(sum(e.squared_error), count(*)) as rmse,
           pulse_mape(sum(e.pct_error), count(e.pct_error)) as mape, pulse_bias(sum(e.error), count(*)) as bias,
           pulse_skill(sum(e.skill_abs_error), sum(e.persistence_abs_error)) as skill,
           pulse_share(sum(e.covered_n), sum(e.interval_n)) as coverage,
           pulse_share(sum(e.fallback_n), count(*)) as fallback_rate
    from evaluation_terms e
    join series s on s.id = e.series_id
    where (${names}::text[] is null or s.name = any(${names}::text[]))
      and (${model}::text is null or e.model_version = ${model}::text)
      and (${from}::timestamptz is null or e.target_hour >= ${from}::timestamptz)
      and (${to}::timestamptz is null or e.target_hour <= ${to}::timestamptz)
    group by grouping sets ((s.name, e.model_version, e.horizon), (s.name, e.model_version))
    having e.horizon is null or e.horizon = any(${[...query.horizons]}::int[])
    order by s.name, e.model_version, coalesce(e.horizon, 0)`;
  }
}

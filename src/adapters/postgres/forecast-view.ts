import type { Sql } from './client.ts';

export interface IssuedForecastRow {
  readonly series: string;
  readonly timezone: string;
  readonly targetHour: number;
  readonly horizon: number;
  readonly value: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly quality: 'ok' | 'fallback' | 'missed';
  readonly method: string;
  readonly reason: string | null;
  /** The newest actual the forecast was made from. */
  readonly lastInputHour: number;
}

/**
 * The newest forecast stored for each series as of `asOf` (what a run issued, or what an earlier run had
 * issued from the same newest actual), in target order: for display after `pulse forecast`.
 */
export async function latestForecasts(
  sql: Sql,
  seriesIds: readonly number[],
  asOf: number,
): Promise<IssuedForecastRow[]> {
  const rows = await sql<
    {
      series: string;
      timezone: string;
      target_ms: number;
      horizon: number;
      value: number | null;
      lower_bound: number | null;
      upper_bound: number | null;
      quality: 'ok' | 'fallback' | 'missed';
      method: string;
      reason: string | null;
      last_input_ms: number;
    }[]
  >`
    with newest as (
      -- Per series the newest origin forecast by then (a backward probe of the index on the last target
      -- hour), not the catch-up rows stored for skipped origins.
      select o.*
      from unnest(${[...seriesIds]}::int[]) as s(id)
      cross join lateral (
        select f.* from forecasts f
        where f.series_id = s.id and f.issued_at <= ${new Date(asOf)}
          and not (f.quality = 'missed' and f.reason like 'not-forecast:%')
        order by f.last_target_hour desc limit 1
      ) o
    )
    select s.name as series, s.timezone, extract(epoch from p.target_hour)::float8 * 1000 as target_ms,
           p.horizon, p.value, p.lower_bound, p.upper_bound, p.quality, p.method, p.reason,
           extract(epoch from p.last_input_hour)::float8 * 1000 as last_input_ms
    from newest n
    join predictions p on p.series_id = n.series_id and p.last_input_hour = n.last_input_hour
                      -- every model's forecast from that origin, found by the same index
                      and p.model_version in (
                        select f.model_version from forecasts f
                        where f.series_id = n.series_id and f.last_input_hour = n.last_input_hour
                          and f.last_target_hour > n.last_input_hour
                          and f.last_target_hour <= n.last_input_hour + interval '168 hours')
    join series s on s.id = p.series_id
    order by s.name, p.target_hour`;
  return rows.map((r) => ({
    series: r.series,
    timezone: r.timezone,
    targetHour: r.target_ms,
    horizon: r.horizon,
    value: r.value,
    lower: r.lower_bound,
    upper: r.upper_bound,
    quality: r.quality,
    method: r.method,
    reason: r.reason,
    lastInputHour: r.last_input_ms,
  }));
}

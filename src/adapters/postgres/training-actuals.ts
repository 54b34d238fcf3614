import { NotFoundError } from '../../core/errors.ts';
import type { HourlySeries } from '../../core/hourly-series.ts';
import type { SeriesInfo } from '../../core/series.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { Sql } from './client.ts';
import { toSeriesInfo, type SeriesRow } from './series-store.ts';

export interface TrainingActuals {
  readonly series: SeriesInfo;
  /** Every actual of the series up to the limit, on a dense hourly grid (NaN = missing hour). */
  readonly actuals: HourlySeries;
}

/**
 * A series' record (its calendar: country, time zone) and all its actuals up to `until` (inclusive),
 * in one query: what training from the database needs.
 */
export async function readTrainingActuals(sql: Sql, name: string, until?: number): Promise<TrainingActuals> {
  const rows = await sql<
    (SeriesRow & { first_ms: number | null; hours: number[] | null; vals: number[] | null })[]
  >`
    select s.id, s.name, s.unit, s.timezone, s.country, s.model_version, s.min_plausible, s.max_plausible,
           w.first_ms, w.hours, w.vals
    from series s
    cross join lateral (
      select min(extract(epoch from a.hour)::float8 * 1000) as first_ms,
             array_agg(extract(epoch from a.hour)::float8 * 1000 order by a.hour) as hours,
             array_agg(a.value order by a.hour) as vals
      from actuals a
      where a.series_id = s.id and (${until === undefined ? null : new Date(until)}::timestamptz is null or a.hour <= ${until === undefined ? null : new Date(until)}::timestamptz)
    ) w
    where s.name = ${name}`;
  const row = rows[0];
  if (!row)
    throw new NotFoundError(`series "${name}" does not exist; import its actuals first (pulse import)`);
  if (!row.hours || row.first_ms === null) {
    throw new NotFoundError(`series "${name}" has no actuals${until === undefined ? '' : ' up to then'}`);
  }
  const start = row.first_ms;
  const last = row.hours[row.hours.length - 1]!;
  const values = new Float64Array(Math.round((last - start) / HOUR_MS) + 1).fill(NaN);
  row.hours.forEach((h, i) => (values[Math.round((h - start) / HOUR_MS)] = row.vals![i]!));
  return { series: toSeriesInfo(row), actuals: { start, values } };
}

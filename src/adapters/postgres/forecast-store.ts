import { DatabaseError, RowsRejectedError } from '../../core/errors.ts';
import type { PredictionRow } from '../../core/predictions.ts';
import type {
  ForecastStore,
  ForecastStream,
  HistoryRequest,
  LatestWindowsRequest,
} from '../../core/ports/stores.ts';
import { streamKey } from '../../core/ports/stores.ts';
import type { SeriesHistory } from '../../core/series.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { Sql } from './client.ts';
import { insertPredictions } from './prediction-writes.ts';
import { toSeriesInfo, type SeriesRow } from './series-store.ts';

interface HistoryRow extends SeriesRow {
  first_hour: number | null;
  hours: number[] | null;
  vals: number[] | null;
}

/** Windows of actuals in, forecasts out: every method is one set-based statement whatever the series count. */
export class PostgresForecastStore implements ForecastStore {
  constructor(private readonly sql: Sql) {}

  async readLatestWindows(request: LatestWindowsRequest): Promise<SeriesHistory[]> {
    const names = request.seriesNames ? [...request.seriesNames] : null;
    const rows = await this.sql<HistoryRow[]>`
      select s.id, s.name, s.unit, s.timezone, s.country, s.model_version, s.min_plausible, s.max_plausible,
             extract(epoch from l.origin)::float8 * 1000 - ${(request.hours - 1) * HOUR_MS}::float8 as first_hour,
             w.hours, w.vals
      from series s
      cross join lateral (
        select max(a.hour) as origin from actuals a
        where a.series_id = s.id and a.hour <= ${new Date(request.asOf - HOUR_MS)}
      ) l
      cross join lateral (
        select array_agg(extract(epoch from a.hour)::float8 * 1000 order by a.hour) as hours,
               array_agg(a.value order by a.hour) as vals
        from actuals a
        where a.series_id = s.id
          and a.hour > l.origin - ${request.hours} * interval '1 hour' and a.hour <= l.origin
      ) w
      where s.active and l.origin is not null
        and (${names}::text[] is null or s.name = any(${names}::text[]))
      order by s.id`;
    return rows.map((r) => toHistory(r, r.first_hour!, request.hours));
  }

  async readHistory(request: HistoryRequest): Promise<SeriesHistory[]> {
    const names = request.seriesNames ? [...request.seriesNames] : null;
    const length = Math.round((request.to - request.from) / HOUR_MS) + 1;
    const rows = await this.sql<HistoryRow[]>`
      select s.id, s.name, s.unit, s.timezone, s.country, s.model_version, s.min_plausible, s.max_plausible,
             w.hours, w.vals
      from series s
      cross join lateral (
        select array_agg(extract(epoch from a.hour)::float8 * 1000 order by a.hour) as hours,
               array_agg(a.value order by a.hour) as vals
        from actuals a
        where a.series_id = s.id and a.hour between ${new Date(request.from)} and ${new Date(request.to)}
      ) w
      where s.active and (${names}::text[] is null or s.name = any(${names}::text[]))
      order by s.id`;
    return rows.map((r) => toHistory(r, request.from, length));
  }

  async latestForecastOrigins(streams: readonly ForecastStream[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (streams.length === 0) return found;
    // The newest origin of each stream: a backward probe of the forecasts' primary key.
    const rows = await this.sql<{ series_id: number; model_version: string; origin_ms: number }[]>`
      select s.series_id, s.model_version, l.origin_ms
      from unnest(${streams.map((s) => s.seriesId)}::int[], ${streams.map((s) => s.modelVersion)}::text[])
             as s(series_id, model_version)
      cross join lateral (
        select extract(epoch from max(f.last_input_hour))::float8 * 1000 as origin_ms
        from forecasts f
        where f.series_id = s.series_id and f.model_version = s.model_version
      ) l
      where l.origin_ms is not null`;
    for (const r of rows)
      found.set(streamKey({ seriesId: r.series_id, modelVersion: r.model_version }), r.origin_ms);
    return found;
  }

  async writePredictions(rows: readonly PredictionRow[], runId: number | null): Promise<number> {
    try {
      return await insertPredictions(this.sql, rows, runId);
    } catch (error) {
      // SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the rows, not the database.
      const code = String((error as { code?: unknown }).code ?? '');
      if (/^2[23]/.test(code))
        throw new RowsRejectedError(`predictions refused: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  }
}

function toHistory(row: HistoryRow, start: number, length: number): SeriesHistory {
  const values = new Float64Array(length).fill(NaN);
  const hours = row.hours ?? [];
  const vals = row.vals ?? [];
  for (let i = 0; i < hours.length; i++) {
    const index = Math.round((hours[i]! - start) / HOUR_MS);
    if (index < 0 || index >= length)
      throw new DatabaseError(`actual of ${row.name} outside the requested range`);
    values[index] = vals[i]!;
  }
  return { series: toSeriesInfo(row), start, values };
}

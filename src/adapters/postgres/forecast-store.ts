import { DatabaseError, RowsRejectedError } from '../../core/errors.ts';
import type { OriginForecast } from '../../core/predictions.ts';
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
import { insertForecasts } from './prediction-writes.ts';
import { toSeriesInfo, type SeriesRow } from './series-store.ts';

interface HistoryRow extends SeriesRow {
  first_hour: number | null;
  /** Actuals found in the range. */
  n: number;
  /** Their values in hour order, 8 bytes each (float8send: big-endian IEEE 754, exactly as stored). */
  packed: Buffer | null;
  /** Only when hours are missing (n below the range's length): each value's hour, epoch seconds, 8 bytes each. */
  hours: Buffer | null;
}

/**
 * The actuals of one series over `range` (a condition on `a.hour`), for the lateral joins below. Values
 * travel as bytes rather than as a float8 array: the driver parses array text character by character,
 * which took longer than the query for 10,000 windows. When every hour of the range is there (the usual
 * case) the values are in place by their order alone; only a series with missing hours also gets the
 * hour of each value, read by a second scan that the `n` check skips for every complete window.
 */
function packedActuals(sql: Sql, range: ReturnType<Sql>, length: number) {
  return sql`
    cross join lateral (
      select count(*)::int as n, string_agg(float8send(a.value), ''::bytea order by a.hour) as packed
      from actuals a
      where a.series_id = s.id and ${range}
    ) w
    cross join lateral (
      select string_agg(float8send(date_part('epoch', a.hour)), ''::bytea order by a.hour) as hours
      from actuals a
      where w.n < ${length} and a.series_id = s.id and ${range}
    ) g`;
}

/** Windows of actuals in, forecasts out: every method is one set-based statement whatever the series count. */
export class PostgresForecastStore implements ForecastStore {
  constructor(private readonly sql: Sql) {}

  async readLatestWindows(request: LatestWindowsRequest): Promise<SeriesHistory[]> {
    const names = request.seriesNames ? [...request.seriesNames] : null;
    const rows = await this.sql<HistoryRow[]>`
      select s.id, s.name, s.unit, s.timezone, s.country, s.model_version, s.min_plausible, s.max_plausible,
             extract(epoch from l.origin)::float8 * 1000 - ${(request.hours - 1) * HOUR_MS}::float8 as first_hour,
             w.n, w.packed, g.hours
      from series s
      cross join lateral (
        select max(a.hour) as origin from actuals a
        where a.series_id = s.id and a.hour <= ${new Date(request.asOf - HOUR_MS)}
      ) l
      ${packedActuals(
        this.sql,
        this.sql`a.hour > l.origin - ${request.hours} * interval '1 hour' and a.hour <= l.origin`,
        request.hours,
      )}
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
             w.n, w.packed, g.hours
      from series s
      ${packedActuals(
        this.sql,
        this.sql`a.hour between ${new Date(request.from)} and ${new Date(request.to)}`,
        length,
      )}
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

  async prepareWrites(span: { readonly firstOrigin: number; readonly lastOrigin: number }): Promise<void> {
    // Forecasts are partitioned by origin month (0070); the function makes the months that are missing.
    await this
      .sql`select pulse_ensure_partitions(${new Date(span.firstOrigin)}, ${new Date(span.lastOrigin)})`;
  }

  async writeForecasts(forecasts: readonly OriginForecast[], runId: number | null): Promise<number> {
    try {
      return await insertForecasts(this.sql, forecasts, runId);
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
  const packed = row.packed;
  if (packed && packed.length !== row.n * 8)
    throw new DatabaseError(`actuals of ${row.name}: ${packed.length} bytes for ${row.n} values`);
  if (packed && !row.hours) {
    // Every hour of the range is there: the i-th value is the i-th hour.
    if (row.n !== length)
      throw new DatabaseError(`actuals of ${row.name}: ${row.n} values for ${length} hours`);
    for (let i = 0; i < row.n; i++) values[i] = packed.readDoubleBE(i * 8);
  } else if (packed && row.hours) {
    for (let i = 0; i < row.n; i++) {
      const index = Math.round((row.hours.readDoubleBE(i * 8) * 1000 - start) / HOUR_MS);
      if (index < 0 || index >= length)
        throw new DatabaseError(`actual of ${row.name} outside the requested range`);
      values[index] = packed.readDoubleBE(i * 8);
    }
  }
  return { series: toSeriesInfo(row), start, values };
}

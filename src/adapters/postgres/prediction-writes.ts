import type { PredictionRow } from '../../core/predictions.ts';
import type { Sql } from './client.ts';

/**
 * Largest number of prediction rows per statement: the hourly run of 10,000 series (240,000 rows) is one
 * statement, so its round trips stay constant; a statement's arrays stay around 10 MB.
 */
export const WRITE_CHUNK_ROWS = 250_000;

/**
 * Stores forecasts with one keyed insert per chunk; an existing forecast under the same key is kept, so
 * a repeated or concurrent run changes nothing. Returns the rows inserted.
 *
 * What makes it fast (8,760 origins × 24 horizons in well under a second of database time): the
 * partitions of the target months are made sure of once, up front; what is the same for every horizon of
 * an origin (series, model, method, quality, reason, issue time, origin) is sent once per origin and
 * joined back in the database, so each row costs five numbers on the wire instead of seven texts and
 * five numbers; and no per-row trigger runs (no foreign keys on the partitioned table).
 */
export async function insertPredictions(
  sql: Sql,
  rows: readonly PredictionRow[],
  runId: number | null,
): Promise<number> {
  if (rows.length === 0) return 0;
  let first = Infinity;
  let last = -Infinity;
  for (const r of rows) {
    if (r.targetHour < first) first = r.targetHour;
    if (r.targetHour > last) last = r.targetHour;
  }
  await sql`select pulse_ensure_partitions(${new Date(first)}, ${new Date(last)})`;
  let inserted = 0;
  for (let i = 0; i < rows.length; i += WRITE_CHUNK_ROWS) {
    inserted += await insertChunk(sql, rows.slice(i, i + WRITE_CHUNK_ROWS), runId);
  }
  return inserted;
}

/** Origin-level columns once per run of consecutive rows that share them; per-row numbers point at them. */
function toColumns(rows: readonly PredictionRow[]) {
  const origin = {
    seriesId: [] as number[],
    modelVersion: [] as string[],
    method: [] as string[],
    quality: [] as string[],
    reason: [] as (string | null)[],
    issuedAt: [] as number[],
    lastInputHour: [] as number[],
  };
  const row = {
    origin: new Array<number>(rows.length),
    horizon: new Array<number>(rows.length),
    value: new Array<number | null>(rows.length),
    lower: new Array<number | null>(rows.length),
    upper: new Array<number | null>(rows.length),
  };
  let previous: PredictionRow | undefined;
  rows.forEach((r, k) => {
    const same =
      previous !== undefined &&
      previous.seriesId === r.seriesId &&
      previous.modelVersion === r.modelVersion &&
      previous.lastInputHour === r.lastInputHour &&
      previous.issuedAt === r.issuedAt &&
      previous.method === r.method &&
      previous.quality === r.quality &&
      previous.reason === r.reason;
    if (!same) {
      origin.seriesId.push(r.seriesId);
      origin.modelVersion.push(r.modelVersion);
      origin.method.push(r.method);
      origin.quality.push(r.quality);
      origin.reason.push(r.reason);
      origin.issuedAt.push(r.issuedAt);
      origin.lastInputHour.push(r.lastInputHour);
      previous = r;
    }
    row.origin[k] = origin.seriesId.length; // 1-based, as `with ordinality`
    row.horizon[k] = r.horizon;
    row.value[k] = r.value;
    row.lower[k] = r.lower;
    row.upper[k] = r.upper;
  });
  return { origin, row };
}

/**
 * A PostgreSQL array literal of numbers, written directly: the driver's generic serializer quotes and
 * escapes every element, which was a third of the client's time for a year of forecasts. String(x) is the
 * shortest text that reads back as the same double, so nothing is rounded.
 */
export function numberArray(values: readonly (number | null)[]): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) text += ',';
    if (v === null || v === undefined) text += 'NULL';
    else if (Number.isFinite(v)) text += String(v);
    else throw new RangeError(`non-finite number ${v} at index ${i}`);
  }
  return text + '}';
}

async function insertChunk(sql: Sql, rows: readonly PredictionRow[], runId: number | null): Promise<number> {
  const { origin: o, row: r } = toColumns(rows);
  const result = await sql`
    with origins as (
      select k, series_id, model_version, method, quality, reason,
             to_timestamp(issued_ms / 1000.0) as issued_at, to_timestamp(last_input_ms / 1000.0) as last_input_hour
      from unnest(${o.seriesId}::int[], ${o.modelVersion}::text[], ${o.method}::text[], ${o.quality}::text[],
                  ${o.reason}::text[], ${o.issuedAt}::float8[], ${o.lastInputHour}::float8[])
        with ordinality as t(series_id, model_version, method, quality, reason, issued_ms, last_input_ms, k)
    )
    insert into predictions (series_id, model_version, horizon, target_hour, method, value, lower_bound,
                             upper_bound, issued_at, last_input_hour, quality, reason, run_id)
    select o.series_id, o.model_version, r.horizon, o.last_input_hour + r.horizon * interval '1 hour', o.method,
           r.value, r.lower_bound, r.upper_bound, o.issued_at, o.last_input_hour, o.quality, o.reason, ${runId}
    from unnest(${numberArray(r.origin)}::int[], ${numberArray(r.horizon)}::int[], ${numberArray(r.value)}::float8[],
                ${numberArray(r.lower)}::float8[], ${numberArray(r.upper)}::float8[])
      as r(k, horizon, value, lower_bound, upper_bound)
    join origins o on o.k = r.k
    on conflict (series_id, target_hour, horizon, model_version) do nothing`;
  return result.count;
}

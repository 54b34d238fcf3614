import type { Writable } from 'node:stream';
import { DatabaseError } from '../../core/errors.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { OriginForecast } from '../../core/predictions.ts';
import { transaction, type Sql, type TransactionSql } from './client.ts';
import { encodeCopyBinary } from './copy-binary.ts';

/**
 * Largest number of forecast origins per write: the hourly run of 10,000 series is one write (one COPY
 * transaction), so its round trips stay constant; a write's data stays around 20 MB.
 */
export const WRITE_CHUNK_ORIGINS = 20_000;

/**
 * From this many origins a write goes through a binary COPY (about 3× faster for a year of one series:
 * no number is parsed from text) instead of one INSERT; below it, the one statement's single round trip
 * is cheaper than the COPY's five. The hourly run of up to a few hundred series stays one statement.
 */
export const COPY_MIN_ORIGINS = 1_000;

/**
 * How long to wait for the database to confirm a COPY once all its data is sent. postgres.js does not
 * report a server error that arrives after the end of the data (it would wait for ever), so the wait
 * is bounded: past the statement timeout (120 s, client.ts) something is wrong.
 */
export const COPY_CONFIRM_TIMEOUT_MS = 130_000;

/** SQLSTATE of "no partition of relation … found for row": a write into a month not made yet. */
const NO_PARTITION = '23514';

/**
 * Stores forecasts, one row per origin with the horizons as arrays (migration 0070); an existing forecast
 * of the same series, model and origin is kept, so a repeated or concurrent run changes nothing. Returns
 * the forecasts (origin × horizon) inserted.
 *
 * The months it writes into are normally there already (the migrate function and every hourly evaluation
 * keep the coming months ready; a backfill makes its own first, ForecastStore.prepareWrites), so a write
 * goes once. A write into a month that does not exist yet is refused by PostgreSQL without storing
 * anything; the months are then made and the write repeated (a COPY's data encoded and sent again).
 */
export async function insertForecasts(
  sql: Sql,
  origins: readonly OriginForecast[],
  runId: number | null,
): Promise<number> {
  if (origins.length === 0) return 0;
  let inserted = 0;
  for (let i = 0; i < origins.length; i += WRITE_CHUNK_ORIGINS) {
    const chunk = origins.slice(i, i + WRITE_CHUNK_ORIGINS);
    try {
      inserted += await writeChunk(sql, chunk, runId);
    } catch (error) {
      if ((error as { code?: unknown }).code !== NO_PARTITION || !/no partition/.test(String(error)))
        throw error;
      let first = Infinity;
      let last = -Infinity;
      for (const o of chunk) {
        first = Math.min(first, o.lastInputHour);
        last = Math.max(last, o.lastInputHour + o.horizons * HOUR_MS);
      }
      await sql`select pulse_ensure_partitions(${new Date(first)}, ${new Date(last)})`;
      inserted += await writeChunk(sql, chunk, runId);
    }
  }
  return inserted;
}

/**
 * A PostgreSQL array literal of numbers, written directly: the driver's generic serializer quotes and
 * escapes every element, which was a third of the client's time for a year of forecasts. String(x) is the
 * shortest text that reads back as the same double, so nothing is rounded.
 */
export function numberArray(values: ArrayLike<number | null>): string {
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

/** The value array stored: a missed forecast has one null per horizon (0070's check). */
const storedValues = (o: OriginForecast): ArrayLike<number | null> =>
  o.values ?? new Array<null>(o.horizons).fill(null);

function writeChunk(sql: Sql, origins: readonly OriginForecast[], runId: number | null): Promise<number> {
  return origins.length >= COPY_MIN_ORIGINS
    ? copyChunk(sql, origins, runId)
    : insertChunk(sql, origins, runId);
}

/**
 * The forecasts (horizons) a statement stored, from the rows it returns: every horizon of a missed origin,
 * the valued ones of the others.
 */
const storedForecasts = (
  sql: Sql | TransactionSql,
) => sql`coalesce(sum(case when quality = 'missed' then cardinality(value)
                                                   else num_nonnulls(variadic value) end), 0)::int`;

/**
 * Many origins in one transaction: a binary COPY into a temporary table, then one INSERT … SELECT that
 * keeps existing forecasts as insertChunk does. Nothing is stored unless all of it is.
 */
async function copyChunk(
  sql: Sql,
  origins: readonly OriginForecast[],
  runId: number | null,
): Promise<number> {
  const data = encodeCopyBinary({
    series_id: { type: 'int4', values: origins.map((o) => o.seriesId) },
    model_version: { type: 'text', values: origins.map((o) => o.modelVersion) },
    last_input_hour: { type: 'timestamptz', values: origins.map((o) => o.lastInputHour) },
    last_target_hour: {
      type: 'timestamptz',
      values: origins.map((o) => o.lastInputHour + o.horizons * HOUR_MS),
    },
    method: { type: 'text', values: origins.map((o) => o.method) },
    quality: { type: 'text', values: origins.map((o) => o.quality) },
    reason: { type: 'text', values: origins.map((o) => o.reason) },
    issued_at: { type: 'timestamptz', values: origins.map((o) => o.issuedAt) },
    run_id: { type: 'int8', values: origins.map(() => runId) },
    value: { type: 'float8[]', values: origins.map(storedValues) },
    lower_bound: { type: 'float8[]', values: origins.map((o) => o.lower) },
    upper_bound: { type: 'float8[]', values: origins.map((o) => o.upper) },
  });
  return transaction(sql, async (tx) => {
    await tx`
      create temporary table forecasts_copied (
        series_id integer, model_version text, last_input_hour timestamptz, last_target_hour timestamptz,
        method text, quality text, reason text, issued_at timestamptz, run_id bigint, value float8[],
        lower_bound float8[], upper_bound float8[]
      ) on commit drop`;
    const stream = await tx`copy forecasts_copied from stdin (format binary)`.writable();
    await sendCopyData(stream, data, origins.length);
    const [result] = await tx<{ n: number }[]>`
      with written as (
        insert into forecasts (series_id, model_version, last_input_hour, last_target_hour, method, quality, reason,
                               issued_at, run_id, value, lower_bound, upper_bound)
        select series_id, model_version, last_input_hour, last_target_hour, method, quality, reason, issued_at,
               run_id, value, lower_bound, upper_bound
        from forecasts_copied
        on conflict (series_id, model_version, last_input_hour) do nothing
        returning quality, value
      )
      select ${storedForecasts(tx)} as n from written`;
    return result!.n;
  });
}

/**
 * Sends a COPY's data and waits until the database has stored it. A connection that dies meanwhile
 * fails the transaction (postgres.js rejects sql.begin when its connection closes); a database error after the end of the data is
 * not reported to the stream, so the wait ends with a DatabaseError after COPY_CONFIRM_TIMEOUT_MS.
 */
export function sendCopyData(
  stream: Writable,
  data: Buffer,
  rows: number,
  timeoutMs = COPY_CONFIRM_TIMEOUT_MS,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new DatabaseError(
            `the database did not confirm the copy of ${rows} forecast origins within ${timeoutMs / 1000} s; nothing of it was stored`,
          ),
        ),
      timeoutMs,
    );
    timer.unref();
    // Listening for as long as the stream lives: an error after the wait ended must not go unhandled.
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.end(data, (error?: Error | null) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * One insert of many origins: what they share as one array per column, their values, lower and upper
 * bounds as one array literal per origin (parsed by PostgreSQL row by row, subscripts 1 … horizons).
 */
async function insertChunk(
  sql: Sql,
  origins: readonly OriginForecast[],
  runId: number | null,
): Promise<number> {
  const col = {
    seriesId: [] as number[],
    modelVersion: [] as string[],
    method: [] as string[],
    quality: [] as string[],
    reason: [] as (string | null)[],
    issuedAt: [] as number[],
    lastInputHour: [] as number[],
    value: [] as string[],
    lower: [] as (string | null)[],
    upper: [] as (string | null)[],
  };
  for (const o of origins) {
    col.seriesId.push(o.seriesId);
    col.modelVersion.push(o.modelVersion);
    col.method.push(o.method);
    col.quality.push(o.quality);
    col.reason.push(o.reason);
    col.issuedAt.push(o.issuedAt);
    col.lastInputHour.push(o.lastInputHour);
    col.value.push(numberArray(storedValues(o)));
    col.lower.push(o.lower ? numberArray(o.lower) : null);
    col.upper.push(o.upper ? numberArray(o.upper) : null);
  }
  const [result] = await sql<{ n: number }[]>`
    with written as (
      insert into forecasts (series_id, model_version, last_input_hour, last_target_hour, method, quality, reason,
                             issued_at, run_id, value, lower_bound, upper_bound)
      select o.series_id, o.model_version, o.origin, o.origin + cardinality(o.value) * interval '1 hour', o.method,
             o.quality, o.reason, to_timestamp(o.issued_ms / 1000.0), ${runId}, o.value, o.lower_bound, o.upper_bound
      from (
        select t.series_id, t.model_version, t.method, t.quality, t.reason, t.issued_ms,
               to_timestamp(t.origin_ms / 1000.0) as origin, t.value::float8[] as value,
               t.lower_bound::float8[] as lower_bound, t.upper_bound::float8[] as upper_bound
        from unnest(${col.seriesId}::int[], ${col.modelVersion}::text[], ${col.method}::text[],
                    ${col.quality}::text[], ${col.reason}::text[], ${col.issuedAt}::float8[],
                    ${numberArray(col.lastInputHour)}::float8[], ${col.value}::text[], ${col.lower}::text[],
                    ${col.upper}::text[])
          as t(series_id, model_version, method, quality, reason, issued_ms, origin_ms, value, lower_bound, upper_bound)
      ) o
      on conflict (series_id, model_version, last_input_hour) do nothing
      returning quality, value
    )
    select ${storedForecasts(sql)} as n from written`;
  return result!.n;
}

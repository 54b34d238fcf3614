/**
 * Straightforward row-at-a-time versions of the backfill and the evaluation, the yardstick for the
 * set-based ones: the same inputs, the same forecasting and scoring rules, the same rows stored, but
 * one query per window read and one statement per row written (a forecast origin with its horizons, as
 * stored since migration 0070; for the evaluation, one statement per scored forecast). Bench only; never
 * used by Pulse.
 */
import type { PostgresStores } from '../src/adapters/postgres/stores.ts';
import type { Sql } from '../src/adapters/postgres/client.ts';
import { FALLBACK_HISTORY_HOURS, forecastOrigins, type ModelResolver } from '../src/core/forecasting.ts';
import type { OriginForecast } from '../src/core/predictions.ts';
import type { SeriesInfo } from '../src/core/series.ts';
import { HOUR_MS } from '../src/core/time.ts';
import { recordRun } from '../src/core/use-cases/record-run.ts';

export interface NaiveOutcome {
  /** Origins (backfill) or predictions (evaluation) processed before the time budget ran out. */
  readonly done: number;
  readonly total: number;
  readonly ms: number;
  /** Estimated time for all of them (ms × total / done) when the budget stopped the run early. */
  readonly projectedMs: number;
  readonly rowsWritten: number;
}

const date = (ms: number) => new Date(ms);

/** One origin's forecast in one INSERT (its horizons as arrays, migration 0070); true when it was new. */
export async function insertOrigin(sql: Sql, f: OriginForecast): Promise<boolean> {
  const values = f.values ? Array.from(f.values) : new Array<null>(f.horizons).fill(null);
  const result = await sql`
    insert into forecasts (series_id, model_version, last_input_hour, last_target_hour, method, quality, reason,
                           issued_at, value, lower_bound, upper_bound)
    values (${f.seriesId}, ${f.modelVersion}, ${date(f.lastInputHour)},
            ${date(f.lastInputHour + f.horizons * HOUR_MS)}, ${f.method}, ${f.quality}, ${f.reason},
            ${date(f.issuedAt)}, ${values}::float8[],
            ${f.lower ? Array.from(f.lower) : null}::float8[],
            ${f.upper ? Array.from(f.upper) : null}::float8[])
    on conflict (series_id, model_version, last_input_hour) do nothing`;
  return result.count > 0;
}

/** Backfill one series origin by origin: read its window, forecast it alone, insert its row. */
export async function naiveBackfill(
  sql: Sql,
  store: PostgresStores,
  resolver: ModelResolver,
  request: { series: SeriesInfo; from: number; to: number; budgetMs: number },
): Promise<NaiveOutcome> {
  const historyHours = Math.max(resolver.maxWindowHours, FALLBACK_HISTORY_HOURS);
  const firstOrigin = request.from - HOUR_MS;
  const lastOrigin = request.to - HOUR_MS;
  const total = (lastOrigin - firstOrigin) / HOUR_MS + 1;
  const t0 = performance.now();
  let done = 0;
  let rowsWritten = 0;
  await recordRun(
    store.runs,
    { functionName: 'backfill', trigger: 'bench-naive', scheduledFor: null },
    async () => {
      for (let origin = firstOrigin; origin <= lastOrigin; origin += HOUR_MS) {
        const start = origin - (historyHours - 1) * HOUR_MS;
        const actuals = await sql<{ ms: number; value: number }[]>`
        select extract(epoch from hour)::float8 * 1000 as ms, value from actuals
        where series_id = ${request.series.id} and hour between ${date(start)} and ${date(origin)}
        order by hour`;
        const values = new Float64Array(historyHours).fill(NaN);
        for (const a of actuals) values[Math.round((a.ms - start) / HOUR_MS)] = a.value;
        const outcome = await forecastOrigins(
          [{ history: { series: request.series, start, values }, origin, issuedAt: origin + HOUR_MS }],
          resolver,
        );
        const f = outcome.forecasts[0];
        if (f && (await insertOrigin(sql, f))) rowsWritten += f.horizons;
        done++;
        if (performance.now() - t0 > request.budgetMs) break;
      }
      return { summary: {}, finish: finish(rowsWritten) };
    },
  );
  const ms = performance.now() - t0;
  return { done, total, ms, projectedMs: (ms * total) / done, rowsWritten };
}

interface PredictionKey {
  series_id: number;
  model_version: string;
  horizon: number;
  target_hour: Date;
  last_input_hour: Date;
  value: number;
  lower_bound: number | null;
  upper_bound: number | null;
  quality: string;
}

/**
 * Score prediction by prediction: look up its actual, the persistence actual and any earlier score,
 * then insert or update that one evaluation; the rollups afterwards are the same statement as Pulse's.
 */
export async function naiveEvaluation(
  sql: Sql,
  store: PostgresStores,
  request: { since: number; until: number; now: number; budgetMs: number },
): Promise<NaiveOutcome> {
  const t0 = performance.now();
  let done = 0;
  let rowsWritten = 0;
  let total = 0;
  await recordRun(
    store.runs,
    { functionName: 'evaluate', trigger: 'bench-naive', scheduledFor: null },
    async () => {
      const predictions = await sql<PredictionKey[]>`
      select series_id, model_version, horizon, target_hour, last_input_hour, value, lower_bound, upper_bound, quality
      from predictions
      where target_hour between ${date(request.since)} and ${date(request.until)} and value is not null
      order by series_id, target_hour, horizon`;
      total = predictions.length;
      for (const p of predictions) {
        done++;
        const [actual] = await sql<{ value: number }[]>`
        select value from actuals where series_id = ${p.series_id} and hour = ${p.target_hour}`;
        if (!actual) continue;
        const [previous] = await sql<{ value: number }[]>`
        select value from actuals where series_id = ${p.series_id} and hour = ${p.last_input_hour}`;
        const persistence = previous ? Math.abs(actual.value - previous.value) : null;
        // The target hour's scores (0070): the actual, the horizons scored and their persistence errors.
        const [row] = await sql<{ actual: number; horizons: number[]; persistence: (number | null)[] }[]>`
        select actual, coalesce(horizons, array(select generate_series(1, cardinality(persistence_abs_error)))) as horizons,
               persistence_abs_error as persistence
        from scores
        where series_id = ${p.series_id} and model_version = ${p.model_version} and target_hour = ${p.target_hour}`;
        const at = row ? row.horizons.indexOf(p.horizon) : -1;
        if (row && at >= 0 && row.actual === actual.value && row.persistence[at] === persistence) continue;
        const entries = row ? row.horizons.map((h, i) => ({ h, e: row.persistence[i] ?? null })) : [];
        if (at >= 0) entries[at]!.e = persistence;
        else entries.push({ h: p.horizon, e: persistence });
        entries.sort((a, b) => a.h - b.h);
        await sql`
        insert into scores as s (series_id, model_version, target_hour, actual, horizons, persistence_abs_error,
                                 scored_at)
        values (${p.series_id}, ${p.model_version}, ${p.target_hour}, ${actual.value},
                ${entries.map((x) => x.h)}::smallint[], ${entries.map((x) => x.e)}::float8[], ${date(request.now)})
        on conflict (series_id, model_version, target_hour) do update set
          actual = excluded.actual, horizons = excluded.horizons,
          persistence_abs_error = excluded.persistence_abs_error, scored_at = excluded.scored_at,
          horizon_scored_at = null`;
        rowsWritten++;
        if (performance.now() - t0 > request.budgetMs) break;
      }
      await store.evaluations.refreshRollups(request.now);
      return { summary: {}, finish: finish(rowsWritten) };
    },
  );
  const ms = performance.now() - t0;
  return { done, total, ms, projectedMs: done ? (ms * total) / done : ms, rowsWritten };
}

function finish(rowsWritten: number) {
  return {
    outcome: 'success' as const,
    seriesCount: 1,
    rowsWritten,
    fallbackCount: 0,
    failedCount: 0,
    error: null,
    details: { naive: true },
  };
}

import { PostgresModelRegistry } from '../../src/adapters/postgres/model-registry.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import type { Sql } from '../../src/adapters/postgres/client.ts';
import { seasonalNaive168 } from '../../src/core/baselines.ts';
import { singleForecaster } from '../../src/core/forecasting.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runBackfill } from '../../src/core/use-cases/run-backfill.ts';
import { runEvaluation } from '../../src/core/use-cases/run-evaluation.ts';
import { runForecast } from '../../src/core/use-cases/run-forecast.ts';

/** What the seeded database holds, for tests to compare panel results against. */
export interface SeededPulse {
  readonly series: { readonly id: number; readonly name: string }[];
  /** First and last hour with actuals. */
  readonly firstHour: number;
  readonly lastHour: number;
  /** First target hour of the backfilled forecasts. */
  readonly backfillFrom: number;
  /** Hours deleted from the gappy series, and which series that is. */
  readonly gapSeries: string;
  readonly gapHours: readonly number[];
  /** Hours re-published with a new value, when, and for which series. */
  readonly revisedSeries: string;
  readonly revisedHours: readonly number[];
  readonly revisionReceivedAt: number;
  /** The error text of the failed run that was recorded. */
  readonly failedRunError: string;
  readonly modelVersion: string;
  /** The series given a model of its own in the registry (promoted after the forecasts were made), and that model. */
  readonly championSeries: string;
  readonly championVersion: string;
}

// A Monday; the eight weeks reach over Ramazan Bayramı (30 March – 1 April 2025) and its half-day eve.
export const SEED_START = Date.UTC(2025, 1, 17, 0);
export const SEED_DAYS = 56;

/**
 * Three synthetic Turkish series, eight weeks of actuals, the last five weeks backfilled hour by hour with
 * 24-hour-ahead forecasts, scored, and one live forecast run at the end: the state a week-old deployment
 * would be in. One series has a 5-hour gap (fallback forecasts), another received revisions, and one
 * ingest run failed. Which forecaster fills the tables does not matter to the dashboards.
 */
export async function seedPulse(sql: Sql): Promise<SeededPulse> {
  const store = createPostgresStores(sql);
  const names = ['east', 'north', 'south'];
  const series = await store.series.ensureSeries(
    names.map((name) => ({ name, country: 'TR', timezone: 'Europe/Istanbul' })),
  );
  const firstHour = SEED_START;
  const lastHour = SEED_START + (SEED_DAYS * 24 - 1) * HOUR_MS;
  for (const [i, s] of series.entries()) {
    const rows = generateSyntheticSeries({
      from: firstHour,
      to: lastHour,
      level: 20_000 + 10_000 * i,
      seed: i + 1,
    });
    await store.actuals.upsertActuals(s.id, rows, lastHour + HOUR_MS);
  }
  const gapSeries = 'south';
  const gapStart = SEED_START + (40 * 24 + 9) * HOUR_MS;
  const gapHours = Array.from({ length: 5 }, (_, i) => gapStart + i * HOUR_MS);
  await sql`
    delete from actuals
    where series_id = ${series.find((s) => s.name === gapSeries)!.id}
      and hour in (select to_timestamp(ms / 1000.0) from unnest(${gapHours}::float8[]) as t (ms))`;

  const resolver = singleForecaster(seasonalNaive168);
  const backfillFrom = SEED_START + 21 * 24 * HOUR_MS;
  await runBackfill(store, resolver, { from: backfillFrom, to: lastHour, trigger: 'test' });

  const revisedSeries = 'north';
  const revisedHours = [lastHour - 30 * HOUR_MS, lastHour - 29 * HOUR_MS, lastHour - 28 * HOUR_MS];
  const revisionReceivedAt = lastHour + 3 * HOUR_MS + 20 * 60_000;
  const north = series.find((s) => s.name === revisedSeries)!;
  const current = await sql<{ hour: Date; value: number }[]>`
    select hour, value from actuals
    where series_id = ${north.id}
      and hour in (select to_timestamp(ms / 1000.0) from unnest(${revisedHours}::float8[]) as t (ms))`;
  await store.actuals.upsertActuals(
    north.id,
    current.map((r) => ({ hour: r.hour.getTime(), value: r.value * 1.02 })),
    revisionReceivedAt,
  );

  // Evaluated within the hour after the last actual: the rollup windows end at the last hour.
  await runEvaluation(store, { now: lastHour + 15 * 60_000, trigger: 'test', since: backfillFrom });
  await runForecast(store, resolver, { asOf: lastHour + HOUR_MS + 7 * 60_000, trigger: 'test' });
  await createPostgresStores(sql).holidays.sync(2025, 2025);

  const failedRunError = 'source answered HTTP 503 for 2025-03-02T10:00Z';
  await sql`
    insert into runs (function_name, trigger, started_at, finished_at, duration_ms, outcome, failed_count, error)
    values ('ingest', 'schedule', ${new Date(lastHour + 2 * HOUR_MS)}, ${new Date(lastHour + 2 * HOUR_MS + 4000)},
            4000, 'failed', 3, ${failedRunError})`;

  // The registry: one series got a model of its own (after every forecast above, so the streams stay as they were).
  const championSeries = 'east';
  const championVersion = 'pulse-mlp-east-seed';
  const east = series.find((s) => s.name === championSeries)!;
  const registry = new PostgresModelRegistry(sql);
  await registry.registerCandidate({
    version: championVersion,
    seriesId: east.id,
    windowHours: 168,
    horizons: 24,
    quantiles: [0.1, 0.5, 0.9],
    sha256: 'e'.repeat(64),
    metadata: {},
    trainingSpan: { from: new Date(firstHour).toISOString(), to: new Date(backfillFrom).toISOString() },
    dataFingerprint: 'f'.repeat(64),
    hyperParameters: { windowHours: 168 },
    validation: { mapeH1: 0.5 },
    backtest: { maeH1: 101.5 },
    storeUri: '/models',
  });
  await registry.promote(east.id, championVersion, 'first model of the series');
  await registry.recordDecision({
    seriesId: east.id,
    challengerVersion: championVersion,
    championVersion: null,
    promoted: true,
    reason: 'no champion to compare with: first model of the series',
    backtestFrom: null,
    backtestTo: null,
    challengerFigures: null,
    championFigures: null,
  });

  return {
    championSeries,
    championVersion,
    series: series.map((s) => ({ id: s.id, name: s.name })),
    firstHour,
    lastHour,
    backfillFrom,
    gapSeries,
    gapHours,
    revisedSeries,
    revisedHours,
    revisionReceivedAt,
    failedRunError,
    modelVersion: seasonalNaive168.version,
  };
}

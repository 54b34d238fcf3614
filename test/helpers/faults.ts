import { expect } from 'vitest';
import type { Sql } from '../../src/adapters/postgres/client.ts';
import { createEvaluateHandler } from '../../src/adapters/lambda/evaluate.ts';
import { createForecastHandler } from '../../src/adapters/lambda/forecast.ts';
import { createIngestHandler } from '../../src/adapters/lambda/ingest.ts';
import type { SeriesDefinition } from '../../src/adapters/postgres/series-store.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import type { ActualRow } from '../../src/core/csv.ts';
import type { SeriesInfo } from '../../src/core/series.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { MetricsRecorder, openTestRuntime } from './handlers.ts';

/** The tables whose rows must never be lost or corrupted by a fault. */
export const GUARDED_TABLES = ['actuals', 'predictions', 'evaluations'] as const;
export type GuardedTable = (typeof GUARDED_TABLES)[number];

/** Every stored row of the guarded tables, by primary key, as the row's full text (all columns). */
export type StoreSnapshot = Record<GuardedTable, Map<string, string>>;

/** Reads every guarded row (tests keep tables small: thousands of rows, not millions). */
export async function snapshotStore(sql: Sql): Promise<StoreSnapshot> {
  type Row = { k: string; v: string }[];
  const [actuals, predictions, evaluations] = await Promise.all([
    sql<Row>`select series_id || '|' || hour::text as k, t::text as v from actuals t`,
    sql<Row>`select series_id || '|' || model_version || '|' || horizon || '|' || target_hour::text as k,
                    t::text as v from predictions t`,
    sql<Row>`select series_id || '|' || model_version || '|' || horizon || '|' || target_hour::text as k,
                    t::text as v from evaluations t`,
  ]);
  const map = (rows: Row) => new Map(rows.map((r) => [r.k, r.v]));
  return { actuals: map(actuals), predictions: map(predictions), evaluations: map(evaluations) };
}

/** Row counts of a snapshot, for messages and reports. */
export function counts(snapshot: StoreSnapshot): Record<GuardedTable, number> {
  return {
    actuals: snapshot.actuals.size,
    predictions: snapshot.predictions.size,
    evaluations: snapshot.evaluations.size,
  };
}

export interface Allowed {
  /** Keys of `table` whose row may have changed (a revision, a re-score). */
  readonly changed?: Partial<Record<GuardedTable, (key: string) => boolean>>;
}

/** Rows of `before` that are missing in `after` or differ (unless allowed to change). */
export function damage(
  before: StoreSnapshot,
  after: StoreSnapshot,
  allowed: Allowed = {},
): { lost: string[]; corrupted: string[] } {
  const lost: string[] = [];
  const corrupted: string[] = [];
  for (const table of GUARDED_TABLES) {
    const mayChange = allowed.changed?.[table] ?? (() => false);
    for (const [key, row] of before[table]) {
      const now = after[table].get(key);
      if (now === undefined) lost.push(`${table} ${key}`);
      else if (now !== row && !mayChange(key)) corrupted.push(`${table} ${key}: ${row} → ${now}`);
    }
  }
  return { lost, corrupted };
}

/** Process-wide tally of the fault cases and the rows checked, printed by each fault file. */
export const tally = { cases: 0, rowsChecked: 0, rowsLost: 0 };

/** Asserts that no row of `before` was lost or changed; rows may have been added. */
export function expectNothingLost(before: StoreSnapshot, after: StoreSnapshot, allowed: Allowed = {}): void {
  const { lost, corrupted } = damage(before, after, allowed);
  tally.cases++;
  tally.rowsChecked += before.actuals.size + before.predictions.size + before.evaluations.size;
  tally.rowsLost += lost.length;
  expect(lost, 'rows lost').toEqual([]);
  expect(corrupted, 'rows corrupted').toEqual([]);
}

/** Asserts that the guarded tables are exactly as before (a rejected input, a failed run). */
export function expectUnchanged(before: StoreSnapshot, after: StoreSnapshot): void {
  expectNothingLost(before, after);
  expect(counts(after)).toEqual(counts(before));
}

/** Rows of `runs`, newest last. */
export async function runsOf(sql: Sql) {
  return sql<
    {
      id: string;
      function_name: string;
      trigger: string;
      outcome: string;
      error: string | null;
      rows_written: number;
      fallback_count: number;
      failed_count: number;
      details: Record<string, unknown>;
    }[]
  >`select id, function_name, trigger, outcome, error, rows_written, fallback_count, failed_count, details
    from runs order by id`;
}

/** A Monday at midnight UTC: fault series start here. */
export const T0 = Date.UTC(2025, 2, 3, 0);
export const hour = (i: number) => T0 + i * HOUR_MS;

/** The fault suites' series: three weeks of actuals (hours 0…503); their run happens at 00:07 after the last. */
export const HISTORY = 504;
export const AS_OF = hour(HISTORY) + 7 * 60_000;

/** A synthetic series of `hours` hours from T0, level `level`; stored with received = the hour after each. */
export async function seedSeries(
  sql: Sql,
  definition: SeriesDefinition,
  hours: number,
  options: { level?: number; seed?: number; mutate?: (rows: ActualRow[]) => ActualRow[] } = {},
): Promise<{ series: SeriesInfo; rows: ActualRow[] }> {
  const stores = createPostgresStores(sql);
  const [series] = await stores.series.ensureSeries([definition]);
  let rows = generateSyntheticSeries({
    from: T0,
    to: hour(hours - 1),
    level: options.level ?? 30_000,
    seed: options.seed ?? 7,
  });
  if (options.mutate) rows = options.mutate(rows);
  await stores.actuals.upsertActuals(series!.id, rows, hour(hours));
  return { series: series!, rows };
}

/** EventBridge's scheduled event as Lambda receives it. */
export function scheduledEvent(at: number) {
  return {
    version: '0',
    id: `fault-${at}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: toIso(at),
    region: 'eu-central-1',
    resources: ['arn:aws:events:eu-central-1:123456789012:rule/pulse-forecast'],
    detail: {},
  };
}

type Handler = (event: unknown) => Promise<unknown>;
export interface Handlers {
  forecast: Handler;
  evaluate: Handler;
  /** Only when `env` configures a source (INGEST_SOURCE). */
  ingest: Handler;
  resetDatabase: () => Promise<void>;
}

/**
 * The real handlers over a fresh runtime configured by `env` (like a new Lambda container). The default
 * model is a baseline unless `env` says otherwise, so the suite does not depend on a trained model being
 * present. Metrics go to namespace PulseFaults, serialized by Powertools but not printed; logs are silent,
 * so the expected failures do not flood the test output, unless `logs` asks for Powertools' defaults as in
 * Lambda (the secrets test reads them).
 */
export function loadHandlers(
  env: Record<string, string | undefined>,
  options: { logs?: boolean } = {},
): Handlers {
  const runtime = openTestRuntime(
    { PULSE_DEFAULT_MODEL: 'seasonal-naive-168h', POWERTOOLS_METRICS_NAMESPACE: 'PulseFaults', ...env },
    options.logs ? { observe: true } : { recorder: new MetricsRecorder() },
  );
  const forecast = createForecastHandler(runtime);
  const evaluate = createEvaluateHandler(runtime);
  const ingest = runtime.config.ingest.source ? createIngestHandler(runtime) : undefined;
  return {
    forecast: (event) => forecast(event),
    evaluate: (event) => evaluate(event),
    ingest: (event) => {
      if (!ingest) throw new Error('loadHandlers: set INGEST_SOURCE to load the ingest handler');
      return ingest(event);
    },
    resetDatabase: () => runtime.close(),
  };
}

/** Runs `work` and returns what it threw (fails the test if it did not throw). */
export async function caught(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Stored forecasts without run ids and timestamps of writing, comparable across databases. */
export async function forecastContent(sql: Sql): Promise<Map<string, string>> {
  const rows = await sql<{ k: string; v: string }[]>`
    select s.name || '|' || p.model_version || '|' || p.horizon || '|' || p.target_hour::text as k,
           concat_ws('|', p.method, p.value, p.quality, p.reason, p.issued_at::text, p.last_input_hour::text) as v
    from predictions p join series s on s.id = p.series_id`;
  return new Map(rows.map((r) => [r.k, r.v]));
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { lambdaContext, MetricsRecorder, openTestRuntime, scheduled } from '../helpers/handlers.ts';
import { createEvaluateHandler } from '../../src/adapters/lambda/evaluate.ts';
import { createForecastHandler } from '../../src/adapters/lambda/forecast.ts';
import type { Runtime } from '../../src/adapters/runtime.ts';

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** Runs `work` and returns the CloudWatch embedded-metric-format documents it published. */
async function emfOf(recorder: MetricsRecorder, work: () => Promise<unknown>): Promise<Emf[]> {
  await work();
  return recorder.take().map((l) => JSON.parse(l) as Emf);
}

describe('metrics the alarms watch', () => {
  let db: TestDatabase;
  let runtime: Runtime;
  const metrics = new MetricsRecorder();
  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = openTestRuntime(
      { DATABASE_URL: db.url, PULSE_DEFAULT_MODEL: 'seasonal-naive-168h' },
      { recorder: metrics },
    );
    const [series] = await createPostgresStores(db.sql).series.ensureSeries([
      { name: 'grid', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    const rows = generateSyntheticSeries({
      from: Date.UTC(2025, 0, 1),
      to: Date.UTC(2025, 0, 31, 23),
      seed: 3,
    });
    await createPostgresStores(db.sql).actuals.upsertActuals(series!.id, rows, Date.UTC(2025, 1, 1));
  });
  afterAll(async () => {
    await runtime.close();
    await db.drop();
  });

  it('the forecast run publishes ForecastRunSuccess, FallbackRate and DataStalenessHours in namespace Pulse', async () => {
    const handler = createForecastHandler(runtime);
    const docs = await emfOf(metrics, () =>
      handler(scheduled('2025-02-01T02:07:00Z'), lambdaContext('pulse-forecast')),
    );
    expect(docs).toHaveLength(1);
    const doc = docs[0]!;
    const directive = doc._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('Pulse');
    expect(directive.Dimensions).toEqual([['service']]);
    expect(doc.service).toBe('pulse');
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual(
      [
        'DataStalenessHours',
        'FallbackRate',
        'ForecastRunSuccess',
        'ForecastsWritten',
        'WeatherDegradedSeries',
      ].sort(),
    );
    expect(doc.WeatherDegradedSeries).toBe(0); // a calendar model needs no weather
    expect(doc.ForecastRunSuccess).toBe(1);
    expect(doc.ForecastsWritten).toBe(24);
    expect(doc.FallbackRate).toBe(0);
    expect(doc.DataStalenessHours).toBeCloseTo(2 + 7 / 60, 9); // newest hour 23:00 ended at 00:00, run at 02:07
  });

  it('the evaluation publishes RollingMape24h', async () => {
    const handler = createEvaluateHandler(runtime);
    const store = createPostgresStores(db.sql);
    const [series] = await store.series.findSeries(['grid']);
    await store.actuals.upsertActuals(
      series!.id,
      [{ hour: Date.UTC(2025, 1, 1, 0), value: 40_000 }],
      Date.UTC(2025, 1, 1, 3),
    );
    const docs = await emfOf(metrics, () =>
      handler(scheduled('2025-02-01T03:17:00Z'), lambdaContext('pulse-evaluate')),
    );
    const doc = docs[0]!;
    expect(doc._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name).sort()).toEqual([
      'EvaluationsScored',
      'RollingMape24h',
    ]);
    expect(doc.EvaluationsScored).toBe(1);
    const [e] = await db.sql<{ pct_error: number }[]>`select pct_error from evaluations`;
    expect(doc.RollingMape24h).toBeCloseTo(e!.pct_error, 9);
  });
});

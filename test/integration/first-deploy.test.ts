import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluateHandler } from '../../src/adapters/lambda/evaluate.ts';
import { createForecastHandler } from '../../src/adapters/lambda/forecast.ts';
import { createIngestHandler } from '../../src/adapters/lambda/ingest.ts';
import { createMigrateHandler } from '../../src/adapters/lambda/migrate.ts';
import { loadConfig, type Environment } from '../../src/adapters/config.ts';
import { openRuntime, type Runtime } from '../../src/adapters/runtime.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { alarmStates, metricsOf, pulseAlarmSpecs, type HourObserved } from '../helpers/alarms.ts';
import { createTestDatabase, serverUrl } from '../helpers/db.ts';
import { startFakeEpias, writeEpiasSeriesFile } from '../helpers/fake-epias.ts';
import { lambdaContext, MetricsRecorder, scheduled, testObservability } from '../helpers/handlers.ts';

/** Runs `work` and returns the EMF lines it published, and what it threw. */
async function metricsLinesOf(
  recorder: MetricsRecorder,
  work: () => Promise<unknown>,
): Promise<{ lines: string[]; error?: unknown }> {
  try {
    await work();
    return { lines: recorder.take() };
  } catch (error) {
    return { lines: recorder.take(), error };
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * The first `cdk deploy`, without AWS and without the CLI: an empty PostgreSQL, the migrate handler with
 * a series configuration, then the scheduled handlers hour by hour as EventBridge invokes them (ingest
 * :02, forecast :07, evaluate :17), each connecting as the login user migrate created. The alarms are
 * the stack's own (lib/alarms.ts), evaluated over the metrics the handlers published.
 */
describe('first deploy, end to end', () => {
  const suffix = randomBytes(4).toString('hex');
  const dbName = `pulse_first_${suffix}`;
  const appUser = `pulse_app_user_${suffix}`;
  const readerUser = `pulse_reader_user_${suffix}`;
  const secrets = mockClient(SecretsManagerClient);
  const dir = mkdtempSync(path.join(tmpdir(), 'pulse-first-deploy-'));
  let epias: Awaited<ReturnType<typeof startFakeEpias>>;
  const runtimes: Runtime[] = [];
  const metrics = new MetricsRecorder();

  function runtime(env: Environment): Runtime {
    const config = loadConfig(env);
    const r = openRuntime(config, {
      secrets: new SecretsManagerClient({ region: 'eu-central-1' }),
      // Metrics on (they are what the alarms read), logs quiet except warnings.
      observability: testObservability(config, { recorder: metrics, logLevel: 'WARN' }),
    });
    runtimes.push(r);
    return r;
  }

  beforeAll(async () => {
    const admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database ${dbName}`); // empty: migrate brings the schema up
    await admin.end();
    epias = await startFakeEpias({ username: 'operator@example.com', password: 'epias-pass' });
  });
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    secrets.restore();
    await epias.close();
    const admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    for (const user of [appUser, readerUser]) await admin.unsafe(`drop role if exists ${user}`);
    await admin.end();
  });

  it('reaches forecasts and evaluations in the first hours with every alarm OK, also while ingest is not configured', async () => {
    const server = new URL(serverUrl(dbName));
    const secret = (value: object) => ({ SecretString: JSON.stringify(value) });
    secrets
      .on(GetSecretValueCommand, { SecretId: 'master' })
      .resolves(
        secret({ username: decodeURIComponent(server.username), password: server.password || 'unused' }),
      );
    secrets
      .on(GetSecretValueCommand, { SecretId: 'app' })
      .resolves(secret({ username: appUser, password: 'App-pass-1' }));
    secrets
      .on(GetSecretValueCommand, { SecretId: 'reader' })
      .resolves(secret({ username: readerUser, password: 'Reader-pass-1' }));
    // As the stack creates it: a placeholder until the operator puts the EPİAŞ account in.
    secrets
      .on(GetSecretValueCommand, { SecretId: 'ingest' })
      .resolves(secret({ username: 'set-me', password: 'generated' }));

    const configFile = writeEpiasSeriesFile(dir, epias);
    const database = {
      DATABASE_HOST: server.hostname,
      DATABASE_PORT: server.port,
      DATABASE_NAME: dbName,
      DATABASE_SSL: 'disable',
    };

    // Deploy: the trigger runs migrate once.
    const migrate = createMigrateHandler(
      runtime({
        ...database,
        MASTER_SECRET_ARN: 'master',
        APP_SECRET_ARN: 'app',
        READER_SECRET_ARN: 'reader',
        PULSE_SERIES_CONFIG: configFile,
      }),
    );
    const migrated = await migrate({});
    expect(migrated).toMatchObject({
      seriesConfig: { created: ['turkey'] },
      users: [{ change: 'created' }, { change: 'created' }],
    });

    // The scheduled functions, as the stack configures them (app login user, no INGEST_SOURCE).
    const functions = runtime({
      ...database,
      DATABASE_SECRET_ARN: 'app',
      INGEST_SECRET_ARN: 'ingest',
      STALE_AFTER_HOURS: '6',
    });
    const ingest = createIngestHandler(functions);
    const forecast = createForecastHandler(functions);
    const evaluate = createEvaluateHandler(functions);

    const firstHour = Date.UTC(2025, 2, 10, 9); // the deploy finishes before 09:02
    const hours: HourObserved[] = [];
    const results: Array<Record<string, unknown>> = [];
    for (let h = 0; h < 4; h++) {
      const hour = firstHour + h * HOUR_MS;
      if (h === 1) {
        // The operator puts the EPİAŞ account into the secret after the first hour.
        secrets
          .on(GetSecretValueCommand, { SecretId: 'ingest' })
          .resolves(secret({ username: 'operator@example.com', password: 'epias-pass' }));
      }
      epias.until = hour - HOUR_MS; // EPİAŞ publishes the hour that just ended
      const observed = { metrics: {} as Record<string, number[]>, errors: {} as Record<string, number> };
      for (const [name, handler, minute] of [
        ['ingest', ingest, 2],
        ['forecast', forecast, 7],
        ['evaluate', evaluate, 17],
      ] as const) {
        let result: unknown;
        const { lines, error } = await metricsLinesOf(metrics, async () => {
          result = await handler(scheduled(iso(hour + minute * 60_000)), lambdaContext(`pulse-${name}`));
        });
        expect(error, `${name} at ${iso(hour)}`).toBeUndefined();
        observed.errors[name] = error ? 1 : 0;
        for (const [metric, values] of Object.entries(metricsOf(lines)))
          (observed.metrics[metric] ??= []).push(...values);
        results.push({ name, hour: iso(hour), result });
      }
      hours.push(observed);
    }

    // Hour 0: the placeholder is reported, not failed; forecast has nothing to forecast yet and still succeeds.
    expect(results[0]).toMatchObject({
      name: 'ingest',
      result: { status: 'not-configured', series: [{ name: 'turkey' }] },
    });
    expect(hours[0]!.metrics.IngestNotConfigured).toEqual([1]);
    expect(hours[0]!.metrics.ForecastRunSuccess).toEqual([1]);
    // Hour 1: fourteen days of actuals arrive and the first forecast is made.
    expect(results[3]).toMatchObject({
      name: 'ingest',
      result: { status: 'ingested', series: [{ name: 'turkey', inserted: 336 }] },
    });
    expect(results[4]).toMatchObject({
      name: 'forecast',
      result: { seriesCount: 1, okSeries: 1, forecastsWritten: 24 },
    });

    const sql = postgres(serverUrl(dbName), { max: 1, onnotice: () => undefined });
    try {
      const [counts] = await sql`
        select (select count(*)::int from predictions where quality = 'ok') as forecasts,
               (select count(*)::int from evaluations) as evaluations,
               (select count(*)::int from holidays where country = 'TR') as holidays`;
      expect(counts!.forecasts).toBe(3 * 24);
      // 1 h ahead of hours 2 and 3, 2 h ahead of hour 3: the forecasts whose hour has an actual.
      expect(counts!.evaluations).toBe(3);
      expect(counts!.holidays).toBeGreaterThan(20);
    } finally {
      await sql.end();
    }

    // Every alarm of the stack is OK after each hour (NoForecastRun looks at two).
    const specs = pulseAlarmSpecs();
    expect(specs.map((s) => s.name).sort()).toEqual(
      [
        'EvaluateErrors',
        'FailedRuns',
        'ForecastErrors',
        'HighFallbackRate',
        'HighMape',
        'IngestErrors',
        'NoForecastRun',
        'StaleData',
      ].sort(),
    );
    for (let h = 1; h <= hours.length; h++) {
      expect(alarmStates(specs, hours.slice(0, h)), `after hour ${h - 1}`).toEqual(
        Object.fromEntries(specs.map((s) => [s.name, 'OK'])),
      );
    }
    expect(hours.at(-1)!.metrics.FallbackRate).toEqual([0]);
    expect(Math.max(...hours.at(-1)!.metrics.DataStalenessHours!)).toBeLessThanOrEqual(1);
  });
});

describe('an empty deploy (no series configured yet)', () => {
  it('keeps every alarm OK: the forecast run succeeds with zero series, ingest has nothing to read', async () => {
    const db = await createTestDatabase();
    const config = loadConfig({ DATABASE_URL: db.url, INGEST_SECRET_ARN: 'unused' });
    const recorder = new MetricsRecorder();
    const functions = openRuntime(config, { observability: testObservability(config, { recorder }) });
    try {
      const handlers = {
        ingest: createIngestHandler(functions),
        forecast: createForecastHandler(functions),
        evaluate: createEvaluateHandler(functions),
      };
      const hours: HourObserved[] = [];
      for (let h = 0; h < 3; h++) {
        const hour = Date.UTC(2025, 2, 10, 9 + h);
        const metrics: Record<string, number[]> = {};
        for (const [name, minute] of [
          ['ingest', 2],
          ['forecast', 7],
          ['evaluate', 17],
        ] as const) {
          const { lines, error } = await metricsLinesOf(recorder, () =>
            handlers[name](scheduled(iso(hour + minute * 60_000))),
          );
          expect(error, name).toBeUndefined();
          for (const [metric, values] of Object.entries(metricsOf(lines)))
            (metrics[metric] ??= []).push(...values);
        }
        hours.push({ metrics });
      }
      expect(hours.map((h) => h.metrics.ForecastRunSuccess)).toEqual([[1], [1], [1]]);
      // Nothing the threshold alarms watch is published when there is nothing to measure.
      expect(
        hours.every(
          (h) => !h.metrics.FallbackRate && !h.metrics.DataStalenessHours && !h.metrics.RollingMape24h,
        ),
      ).toBe(true);
      const specs = pulseAlarmSpecs();
      expect(alarmStates(specs, hours)).toEqual(Object.fromEntries(specs.map((s) => [s.name, 'OK'])));
      // Without the fix (no ForecastRunSuccess at zero series) NoForecastRun would be in ALARM here:
      const withoutSuccess = hours.map((h) => ({ metrics: { ...h.metrics, ForecastRunSuccess: [] } }));
      expect(alarmStates(specs, withoutSuccess).NoForecastRun).toBe('ALARM');
    } finally {
      await functions.close();
      await db.drop();
    }
  });
});

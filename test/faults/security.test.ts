import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toIso } from '../../src/core/time.ts';
import { createTestDatabase, serverUrl, type TestDatabase } from '../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../helpers/fake-http-server.ts';
import {
  caught,
  expectUnchanged,
  hour,
  loadHandlers,
  scheduledEvent,
  seedSeries,
  snapshotStore,
  AS_OF,
  HISTORY,
} from '../helpers/faults.ts';

const secretValue = (label: string) => `${label}-${randomBytes(12).toString('base64url')}`;

/** Every 6-character piece of `secret`: a log holding any of them leaks part of it. */
function pieces(secret: string): string[] {
  return Array.from({ length: secret.length - 5 }, (_, i) => secret.slice(i, i + 6));
}

/** Captures what the process writes to stdout and stderr (Powertools logs, metrics, console) during `work`. */
async function captureOutput<T>(
  work: () => Promise<T>,
): Promise<{ output: string; result?: T; error?: Error }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    const original = originals[i]!;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(String(chunk));
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
  });
  try {
    const result = await work();
    return { output: chunks.join(''), result };
  } catch (error) {
    // What Lambda's runtime would log for a failed invoke: the error, its stack and its cause.
    const e = error as Error;
    chunks.push(e.message, e.stack ?? '', String((e as { cause?: unknown }).cause ?? ''));
    return { output: chunks.join(''), error: e };
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i]!));
  }
}

async function loginRole(db: TestDatabase, group: 'pulse_app' | 'pulse_reader') {
  const role = `${group}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  // Test-only identifiers and hex: no input reaches this string.
  await db.sql.unsafe(`create role ${role} login password '${password}' in role ${group}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  return { role, sql: postgres(url.toString(), { max: 1, onnotice: () => undefined }) };
}

describe('least-privilege database roles', () => {
  let db: TestDatabase;
  const roles: string[] = [];
  let reader: postgres.Sql;
  let app: postgres.Sql;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'grid' }, 48);
    const r = await loginRole(db, 'pulse_reader');
    const a = await loginRole(db, 'pulse_app');
    roles.push(r.role, a.role);
    reader = r.sql;
    app = a.sql;
  });
  afterAll(async () => {
    await Promise.all([reader.end(), app.end()]);
    await db.drop();
    const admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
    for (const role of roles) await admin.unsafe(`drop role if exists ${role}`);
    await admin.end();
  });

  const TABLES = [
    'series',
    'actuals',
    'predictions',
    'evaluations',
    'forecasts',
    'scores',
    'metric_rollups',
    'runs',
    'model_versions',
    'holidays',
  ];

  it('the Grafana role (pulse_reader) reads every table and can change nothing', async () => {
    const before = await snapshotStore(db.sql);
    for (const table of TABLES) await reader.unsafe(`select count(*) from ${table}`); // constant names
    const [count] = await reader<{ n: number }[]>`select count(*)::int as n from actuals`;
    expect(count!.n).toBe(48);
    const attempts = [
      `insert into series (name) values ('intruder')`,
      `insert into actuals (series_id, hour, value) values (1, '2030-01-01T00:00Z', 1)`,
      `update actuals set value = 0`,
      `delete from actuals`,
      `delete from metric_rollups`,
      `truncate forecasts`,
      `drop table scores`,
      `drop view evaluations`,
      `alter table actuals add column note text`,
      `create table stolen (x int)`,
      `create function f() returns int language sql as 'select 1'`,
    ];
    for (const statement of attempts) {
      const error = await caught(() => reader.unsafe(statement));
      expect({ statement, code: (error as { code?: string }).code }).toEqual({ statement, code: '42501' });
    }
    expectUnchanged(before, await snapshotStore(db.sql));
  });

  it('the functions role (pulse_app) writes data but cannot drop, alter, truncate, create or delete stored data', async () => {
    const before = await snapshotStore(db.sql);
    const attempts = [
      `drop table actuals`,
      `drop table forecasts cascade`,
      `alter table actuals drop constraint actuals_value_check`,
      `alter table forecasts add column note text`,
      `truncate actuals`,
      `create table scratch (x int)`,
      `delete from actuals`,
      `delete from forecasts`,
      `delete from scores`,
      `drop role pulse_reader`,
    ];
    for (const statement of attempts) {
      const error = await caught(() => app.unsafe(statement));
      expect({ statement, code: (error as { code?: string }).code }).toEqual({ statement, code: '42501' });
    }
    expectUnchanged(before, await snapshotStore(db.sql));
    // What it is for still works: a new actual, a rollup refresh.
    await app`insert into actuals (series_id, hour, value) select id, ${new Date(hour(48))}, 1 from series`;
    await app`delete from metric_rollups`;
  });
});

describe('no secret in logs, errors or the runs table', () => {
  let db: TestDatabase;
  let source: FakeHttpServer;
  const dbRole = `pulse_fn_${randomBytes(4).toString('hex')}`;
  const dbPassword = secretValue('Db');
  const epiasPassword = secretValue('Ep');
  const ticket = `TGT-${randomBytes(16).toString('hex')}-cas`;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul' }, HISTORY);
    await db.sql.unsafe(`create role ${dbRole} login password '${dbPassword}' in role pulse_app`); // test constants
    source = await startFakeHttpServer();
  });
  afterAll(async () => {
    await source.close();
    await db.drop();
    const admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`drop role if exists ${dbRole}`);
    await admin.end();
  });

  it('runs that succeed and fail with secrets from Secrets Manager leak no part of them', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const mock = mockClient(SecretsManagerClient);
    const port = Number(new URL(db.url).port);
    const dbSecret = (password: string) =>
      JSON.stringify({
        username: dbRole,
        password,
        host: '127.0.0.1',
        port,
        dbname: db.name,
        engine: 'postgres',
      });
    mock.on(GetSecretValueCommand, { SecretId: 'db' }).resolves({ SecretString: dbSecret(dbPassword) });
    mock
      .on(GetSecretValueCommand, { SecretId: 'epias' })
      .resolves({ SecretString: JSON.stringify({ username: 'pulse@example.com', password: epiasPassword }) });
    // A hostile or careless server that echoes what it received into its error bodies.
    source.route('POST', '/cas/v1/tickets', (req) => ({
      status: 201,
      body: ticket,
      headers: { 'X-Echo': req.body },
    }));
    source.route('POST', '/electricity-service/v1/consumption/data/realtime-consumption', (req) => ({
      status: 400,
      body: `bad request from ${req.headers.tgt} / ${epiasPassword}`,
    }));

    const env = {
      DATABASE_URL: undefined,
      DATABASE_SECRET_ARN: 'db',
      DATABASE_SSL: 'disable',
      AWS_REGION: 'eu-central-1',
      INGEST_SOURCE: 'epias',
      EPIAS_AUTH_URL: source.baseUrl,
      EPIAS_API_URL: source.baseUrl,
      INGEST_SECRET_ARN: 'epias',
      INGEST_SERIES: 'turkey',
    };
    const outputs: string[] = [];
    try {
      const handlers = loadHandlers(env, { logs: true });
      const ok = await captureOutput(() => handlers.forecast(scheduledEvent(AS_OF)));
      expect(ok.error).toBeUndefined();
      outputs.push(ok.output);
      const evaluation = await captureOutput(() => handlers.evaluate(scheduledEvent(AS_OF + 600_000)));
      expect(evaluation.error).toBeUndefined();
      outputs.push(evaluation.output);
      const ingest = await captureOutput(() => handlers.ingest({ mode: 'ingest', at: toIso(AS_OF) }));
      expect(ingest.error?.name).toBe('SourceError');
      expect(ingest.error?.message).toMatch(/HTTP 400/); // it got as far as using the ticket
      expect(source.requestsTo('POST', '/cas/v1/tickets')).toHaveLength(1);
      outputs.push(ingest.output);
      await handlers.resetDatabase();

      // The password was rotated and the secret is stale: the refresh fails too.
      await db.sql.unsafe(`alter role ${dbRole} password '${secretValue('New')}'`);
      const stale = loadHandlers(env, { logs: true });
      const failed = await captureOutput(() => stale.forecast(scheduledEvent(AS_OF + 3_600_000)));
      expect(failed.error?.name).toBe('DatabaseError');
      outputs.push(failed.output);
      await stale.resetDatabase();
    } finally {
      mock.restore();
    }
    const [runText] = await db.sql<{ errors: string }[]>`
      select coalesce(string_agg(coalesce(error, '') || details::text, ' '), '') as errors from runs`;
    const everything = outputs.join('\n') + runText!.errors;
    expect(everything).toMatch(/forecast run finished/); // the capture works: the logs are there
    for (const secret of [dbPassword, epiasPassword, ticket]) {
      const leaked = pieces(secret).filter((p) => everything.includes(p));
      expect(leaked, `part of a secret in the output`).toEqual([]);
    }
  });
});

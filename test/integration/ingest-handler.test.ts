import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../helpers/fake-http-server.ts';
import { lambdaContext, openTestRuntime, scheduled } from '../helpers/handlers.ts';
import { createIngestHandler } from '../../src/adapters/lambda/ingest.ts';

const TICKETS = '/cas/v1/tickets';
const CONSUMPTION = '/electricity-service/v1/consumption/data/realtime-consumption';

/** EPİAŞ's reply format: hour starts at +03:00 and consumption in MWh. */
function epiasReply(values: Record<string, number>) {
  return JSON.stringify({
    items: Object.entries(values).map(([date, consumption]) => ({
      date,
      time: date.slice(11, 16),
      consumption,
    })),
  });
}

describe('ingest handler with the EPİAŞ source', () => {
  let db: TestDatabase;
  let epias: FakeHttpServer;
  let handler: ReturnType<typeof createIngestHandler>;
  const secrets = mockClient(SecretsManagerClient);

  beforeAll(async () => {
    db = await createTestDatabase();
    await createPostgresStores(db.sql).series.ensureSeries([
      { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    epias = await startFakeHttpServer();
    epias.route('POST', TICKETS, [{ status: 201, body: 'TGT-12345-local' }]);
    secrets
      .on(GetSecretValueCommand, {
        SecretId: 'arn:aws:secretsmanager:eu-central-1:000000000000:secret:epias',
      })
      .resolves({
        SecretString: JSON.stringify({ username: 'operator@example.com', password: 'p4ss-w0rd!' }),
      });
    const runtime = openTestRuntime({
      DATABASE_URL: db.url,
      INGEST_SOURCE: 'epias',
      INGEST_SERIES: 'turkey',
      INGEST_TRAILING_HOURS: '6',
      INGEST_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:000000000000:secret:epias',
      EPIAS_AUTH_URL: epias.baseUrl,
      EPIAS_API_URL: epias.baseUrl,
    });
    handler = createIngestHandler(runtime);
  });
  afterAll(async () => {
    secrets.restore();
    await epias.close();
    await db.drop();
  });

  it('stores new hours, then counts revised provisional values, reusing one ticket', async () => {
    epias.route('POST', CONSUMPTION, [
      {
        status: 200,
        body: epiasReply({ '2025-01-01T03:00:00+03:00': 30000, '2025-01-01T04:00:00+03:00': 29500 }),
      },
      {
        status: 200,
        body: epiasReply({
          '2025-01-01T03:00:00+03:00': 30000,
          '2025-01-01T04:00:00+03:00': 29650.5, // settled value differs from the provisional one
          '2025-01-01T05:00:00+03:00': 29900,
        }),
      },
    ]);
    const first = await handler(scheduled('2025-01-01T04:02:00Z'), lambdaContext('pulse-ingest'));
    expect(first).toMatchObject({ fetched: 2, inserted: 2, revised: 0, newestHour: '2025-01-01T01:00:00Z' });
    const second = await handler(scheduled('2025-01-01T05:02:00Z'), lambdaContext('pulse-ingest'));
    expect(second).toMatchObject({ fetched: 3, inserted: 1, revised: 1, unchanged: 1 });
    const rows = await db.sql`select hour, value, revision_count from actuals order by hour`;
    expect(rows.map((r) => [(r.hour as Date).toISOString(), r.value, r.revision_count])).toEqual([
      ['2025-01-01T00:00:00.000Z', 30000, 0],
      ['2025-01-01T01:00:00.000Z', 29650.5, 1],
      ['2025-01-01T02:00:00.000Z', 29900, 0],
    ]);
    expect(epias.requestsTo('POST', TICKETS)).toHaveLength(1);
    expect(epias.requestsTo('POST', CONSUMPTION).every((r) => r.headers.tgt === 'TGT-12345-local')).toBe(
      true,
    );
    const [window] = epias.requestsTo('POST', CONSUMPTION);
    expect(JSON.parse(window!.body)).toMatchObject({ startDate: '2025-01-01T01:00:00+03:00' }); // 6 trailing hours
  });

  it('fails with a clear error on a malformed reply and keeps what is stored', async () => {
    epias.route('POST', CONSUMPTION, [
      { status: 200, body: '{"items": [{"date": "soon", "consumption": 1}]}' },
    ]);
    await expect(handler(scheduled('2025-01-01T06:02:00Z'))).rejects.toThrow(
      /realtime-consumption: items\[0\].date: unparseable timestamp "soon"/,
    );
    const [{ n }] = (await db.sql`select count(*)::int as n from actuals`) as unknown as [{ n: number }];
    expect(n).toBe(3);
    const [run] =
      await db.sql`select outcome, error from runs where function_name = 'ingest' order by id desc limit 1`;
    expect(run!.outcome).toBe('failed');
    expect(run!.error).not.toContain('p4ss-w0rd!');
  });
});

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHandler } from '../../../src/adapters/lambda/ingest.ts';
import { createPostgresStores } from '../../../src/adapters/postgres/stores.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../../helpers/fake-http-server.ts';
import { lambdaContext, openTestRuntime, scheduled } from '../../helpers/handlers.ts';

const H = 3_600_000;
const ACTUALS = '/actuals';
const WEATHER = '/v1/forecast';
const SECRET = 'arn:aws:secretsmanager:eu-central-1:000000000000:secret:weather';
const API_KEY = 'om-key-abcdef123456';

function weatherAnswer(now: number, base: number) {
  const first = Math.floor(now / H) * H - 6 * H;
  const time = Array.from({ length: 55 }, (_, k) => (first + k * H) / 1000);
  return {
    hourly: {
      time,
      temperature_2m: time.map((_, k) => base + k / 10),
      relative_humidity_2m: time.map(() => 50),
      cloud_cover: time.map(() => 10),
    },
  };
}

describe('ingest handler with a weather source', () => {
  let db: TestDatabase;
  let server: FakeHttpServer;
  const secrets = mockClient(SecretsManagerClient);
  let handler: ReturnType<typeof createIngestHandler>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([
      { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    await stores.weather.upsertWeatherLocations([
      { name: 'istanbul', latitude: 41.01, longitude: 28.98 },
      { name: 'ankara', latitude: 39.93, longitude: 32.86 },
    ]);
    await stores.weather.setSeriesWeatherLocations(series!.id, [
      { name: 'istanbul', weight: 0.6 },
      { name: 'ankara', weight: 0.4 },
    ]);
    server = await startFakeHttpServer();
    server.route('GET', ACTUALS, () => ({
      body: JSON.stringify([{ t: '2025-01-01T01:00:00Z', v: 30000 }]),
    }));
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET })
      .resolves({ SecretString: JSON.stringify({ apiKey: API_KEY }) });
    const runtime = openTestRuntime({
      DATABASE_URL: db.url,
      INGEST_SOURCE: 'http',
      INGEST_SERIES: 'turkey',
      INGEST_TRAILING_HOURS: '6',
      INGEST_HTTP_URL: `${server.baseUrl}${ACTUALS}`,
      INGEST_HTTP_FORMAT: 'json',
      INGEST_HTTP_TIME_FIELD: 't',
      INGEST_HTTP_VALUE_FIELD: 'v',
      WEATHER_SOURCE: 'open-meteo',
      WEATHER_URL: `${server.baseUrl}${WEATHER}`,
      WEATHER_SECRET_ARN: SECRET,
    });
    handler = createIngestHandler(runtime);
  });
  afterAll(async () => {
    secrets.restore();
    await server.close();
    await db.drop();
  });

  it('fetches the weather of every series location with the API key from the secret, then the actuals', async () => {
    const now = Date.parse('2025-01-01T04:02:00Z');
    server.route('GET', WEATHER, [{ body: JSON.stringify([weatherAnswer(now, 5), weatherAnswer(now, -2)]) }]);
    const result = await handler(scheduled('2025-01-01T04:02:00Z'), lambdaContext('pulse-ingest'));
    expect(result).toMatchObject({
      inserted: 1,
      weather: { locations: 2, values: 330, stored: 330, incomplete: [] },
    });
    expect(server.requestsTo('GET', WEATHER)[0]!.query.get('apikey')).toBe(API_KEY);
  });

  it('still ingests the actuals when the weather provider is down, and records the failed weather run', async () => {
    server.route('GET', WEATHER, [{ status: 503, body: '{"error":true,"reason":"maintenance"}' }]);
    const result = await handler(scheduled('2025-01-01T05:02:00Z'), lambdaContext('pulse-ingest'));
    expect(result).toMatchObject({ fetched: 1, unchanged: 1 });
    expect((result as { weather: { error: string } }).weather.error).toMatch(
      /open-meteo source: GET \/v1\/forecast: HTTP 503/,
    );
    const runs = await db.sql<{ function_name: string; outcome: string }[]>`
      select function_name, outcome from runs order by id`;
    expect(runs).toEqual([
      { function_name: 'weather', outcome: 'success' },
      { function_name: 'ingest', outcome: 'success' },
      { function_name: 'weather', outcome: 'failed' },
      { function_name: 'ingest', outcome: 'success' },
    ]);
  });
});

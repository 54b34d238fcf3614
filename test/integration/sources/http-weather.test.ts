import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/adapters/config.ts';
import { configuredWeatherSource } from '../../../src/adapters/lambda/ingest.ts';
import { createPostgresStores } from '../../../src/adapters/postgres/stores.ts';
import { HttpWeatherSource, type HttpWeatherOptions } from '../../../src/adapters/sources/http-weather.ts';
import type { TransportOptions } from '../../../src/adapters/sources/transport.ts';
import { parseHttpWeatherConfig } from '../../../src/adapters/sources/weather-config.ts';
import { ConfigurationError, SourceError } from '../../../src/core/errors.ts';
import { toIso } from '../../../src/core/time.ts';
import { runWeatherIngest } from '../../../src/core/use-cases/run-weather-ingest.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../../helpers/fake-http-server.ts';
import { openTestRuntime } from '../../helpers/handlers.ts';

const PATH = '/weather/forecast';
const H = 3_600_000;
const NOW = Date.UTC(2025, 6, 1, 4, 2);
const HOUR = Date.UTC(2025, 6, 1, 4);
const API_KEY = 'wx-provider-key-7f3a9c';
const FAST: TransportOptions = { timeoutMs: 300, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } };
const LOCATIONS = [
  { name: 'istanbul', latitude: 41.0082, longitude: 28.9784 },
  { name: 'ankara', latitude: 39.9334, longitude: 32.8597 },
];
const REQUEST = { locations: LOCATIONS, now: NOW, hoursAhead: 48 };
/** 6 h back to 48 h ahead. */
const FULL = 6 + 49;

/** Rows of one location: `hours` hours from HOUR − 6 h, issued `issuedHoursAgo` before NOW, t = base + k/10. */
function rows(location: string, base: number, options: { hours?: number; issuedHoursAgo?: number } = {}) {
  const issued = toIso(HOUR - (options.issuedHoursAgo ?? 2) * H);
  return Array.from({ length: options.hours ?? FULL }, (_, k) => ({
    city: location,
    time: toIso(HOUR - 6 * H + k * H),
    run: issued,
    t2m: base + k / 10,
    rh: 60,
  }));
}

const MAPPING = {
  locationField: 'city',
  validTimeField: 'time',
  issuedField: 'run',
  variables: { temperature_2m: 't2m', relative_humidity_2m: 'rh' },
} as const;

let server: FakeHttpServer;
beforeEach(async () => {
  server = await startFakeHttpServer();
});
afterEach(() => server.close());

const source = (options: Partial<HttpWeatherOptions> = {}) =>
  new HttpWeatherSource({
    url: `${server.baseUrl}${PATH}`,
    format: 'json',
    ...MAPPING,
    itemsPath: 'data.rows',
    maxIssueAgeHours: 12,
    headers: { 'X-Api-Key': API_KEY },
    transport: FAST,
    ...options,
  });
const json = (list: unknown[]) => [{ body: JSON.stringify({ data: { rows: list } }) }];

async function failure(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  expect((error as Error).message).not.toContain(API_KEY);
  return error as SourceError;
}

describe('generic HTTPS weather source', () => {
  it('asks once for all locations with the auth header and reads JSON rows by their named fields', async () => {
    server.route('GET', PATH, json([...rows('istanbul', 20), ...rows('ankara', 10)]));
    const got = await source().fetch(REQUEST);
    const [req] = server.requestsTo('GET', PATH);
    expect(Object.fromEntries(req!.query)).toEqual({
      locations: 'istanbul,ankara',
      latitude: '41.0082,39.9334',
      longitude: '28.9784,32.8597',
      from: '2025-06-30T22:00:00Z',
      to: '2025-07-03T05:00:00Z',
    });
    expect(req!.headers['x-api-key']).toBe(API_KEY);
    expect(req!.headers.accept).toBe('application/json');
    // Stored as issued when Pulse fetched it: the provider's run time only tells how old the forecast is.
    expect(got.issuedAt).toBe(NOW);
    expect(got.incomplete).toEqual([]);
    expect(got.values).toHaveLength(2 * 2 * FULL);
    const ankara24 = got.values.find(
      (v) => v.location === 'ankara' && v.variable === 'temperature_2m' && v.validHour === HOUR + 24 * H,
    );
    expect(ankara24!.value).toBeCloseTo(10 + 30 / 10, 6);
    expect([got.from, got.to]).toEqual([HOUR - 6 * H, HOUR + 48 * H]);
  });

  it('reads CSV: an empty cell is a gap, a bad value or time is left out and counted', async () => {
    const lines = ['city,time,run,t2m,rh'];
    for (const r of rows('istanbul', 20)) lines.push(`${r.city},${r.time},${r.run},${r.t2m},${r.rh}`);
    lines[3] = lines[3]!.replace(/,60$/, ','); // a gap in humidity
    lines[4] = lines[4]!.replace(/,60$/, ',n/a'); // malformed
    lines[5] = lines[5]!.replace(/,[\d.]+,60$/, ',99,60'); // 99 °C: out of range
    lines[6] = lines[6]!.replace(/:00:00Z,2025/, ':30:00Z,2025'); // not on the hour: the row is left out
    server.route('GET', PATH, [{ body: lines.join('\n') + '\n' }]);
    const got = await source({ format: 'csv' }).fetch({ ...REQUEST, locations: [LOCATIONS[0]!] });
    expect(server.requestsTo('GET', PATH)[0]!.headers.accept).toBe('text/csv');
    expect(got.incomplete).toEqual([
      { location: 'istanbul', reason: '4 malformed or out-of-range values left out' },
    ]);
    expect(got.values.filter((v) => v.variable === 'temperature_2m')).toHaveLength(FULL - 2);
    expect(got.values.filter((v) => v.variable === 'relative_humidity_2m')).toHaveLength(FULL - 3);
  });

  it('keeps a partial answer and names what is missing', async () => {
    server.route('GET', PATH, json(rows('istanbul', 20, { hours: 6 + 20 })));
    const got = await source().fetch(REQUEST);
    expect(got.incomplete).toEqual([
      {
        location: 'istanbul',
        reason: 'temperatures end at 2025-07-01T23:00:00Z, before 2025-07-03T04:00:00Z (48 h ahead)',
      },
      { location: 'ankara', reason: 'missing from the answer' },
    ]);
    expect(got.values.filter((v) => v.variable === 'temperature_2m')).toHaveLength(26);
  });

  it('leaves out a location whose newest forecast was issued too long ago, and refuses an answer that is all stale', async () => {
    server.route(
      'GET',
      PATH,
      json([...rows('istanbul', 20), ...rows('ankara', 10, { issuedHoursAgo: 30 }), ...rows('konya', 5)]),
    );
    const got = await source().fetch(REQUEST);
    expect(got.incomplete).toEqual([
      {
        location: 'ankara',
        reason:
          'stale: newest forecast issued 2025-06-29T22:00:00Z, 30.0 h before the request (limit 12 h); not stored',
      },
      { location: 'konya', reason: 'not a location asked for: 55 rows left out' },
    ]);
    expect(new Set(got.values.map((v) => v.location))).toEqual(new Set(['istanbul']));

    server.route(
      'GET',
      PATH,
      json([...rows('istanbul', 20, { issuedHoursAgo: 20 }), ...rows('ankara', 10, { issuedHoursAgo: 30 })]),
    );
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: stale issue times: the newest forecast was issued 2025-06-30T08:00:00Z, 20.0 h before the request (limit 12 h)`,
    );
  });

  it('takes the newest issue per hour; refuses an issue time after the request and contradictory rows', async () => {
    const older = rows('istanbul', 0, { issuedHoursAgo: 8 });
    server.route('GET', PATH, json([...rows('istanbul', 20), ...older]));
    const got = await source().fetch({ ...REQUEST, locations: [LOCATIONS[0]!] });
    expect(got.values.filter((v) => v.variable === 'temperature_2m').every((v) => v.value >= 20)).toBe(true);

    server.route('GET', PATH, json(rows('istanbul', 20, { issuedHoursAgo: -3 })));
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: data.rows[0].run: issued 2025-07-01T07:00:00Z, after the request (2025-07-01T04:02:00Z)`,
    );
    const twice = rows('istanbul', 20);
    server.route('GET', PATH, json([...twice, { ...twice[7]!, t2m: 31 }]));
    expect((await failure(source().fetch(REQUEST))).message).toMatch(
      /data\.rows\[55\] repeats istanbul at 2025-07-01T05:00:00Z \(issued 2025-07-01T02:00:00Z\) with another t2m than data\.rows\[7\]/,
    );
  });

  it('refuses what it cannot place, naming row and field', async () => {
    server.route('GET', PATH, json([{ ...rows('istanbul', 20)[0]!, city: null }]));
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: data.rows[0].city: missing or not a name`,
    );
    server.route('GET', PATH, json([{ ...rows('istanbul', 20)[0]!, run: '2025-07-01 02:00' }]));
    expect((await failure(source().fetch(REQUEST))).message).toMatch(
      /data\.rows\[0\]\.run: unparseable timestamp "2025-07-01 02:00" \(need ISO 8601 with an offset\)/,
    );
    server.route('GET', PATH, [{ body: 'city,time,t2m\nistanbul,2025-07-01T04:00:00Z,20\n' }]);
    expect((await failure(source({ format: 'csv' }).fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: malformed body, the CSV header has no "run", "rh"`,
    );
    server.route('GET', PATH, [{ body: JSON.stringify({ data: {} }) }]);
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: malformed body, no "data.rows" (items path "data.rows")`,
    );
  });

  it('refuses a stale answer (an old forecast served again) like the Open-Meteo source', async () => {
    const old = rows('istanbul', 20, { hours: 5, issuedHoursAgo: 3 });
    server.route('GET', PATH, json(old));
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: stale answer: the newest hour is 2025-07-01T02:00:00Z, before the current hour 2025-07-01T04:00:00Z`,
    );
  });

  it('times out a server that never answers, after its retries', async () => {
    server.route('GET', PATH, [{ hang: true }]);
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: timed out after 300 ms (gave up after 2 attempts)`,
    );
    expect(server.requestsTo('GET', PATH)).toHaveLength(2);
  });

  it('names a refused auth header and never repeats the key a server echoes', async () => {
    server.route('GET', PATH, [{ status: 401, body: `key ${API_KEY} is invalid` }]);
    expect((await failure(source().fetch(REQUEST))).message).toBe(
      `http-weather source: GET ${PATH}: HTTP 401 (check the auth header value in the weather secret)`,
    );
    server.route('GET', PATH, [{ body: `${API_KEY} is not a plan that includes forecasts` }]);
    expect((await failure(source().fetch(REQUEST))).message).toMatch(/malformed body, not JSON/);
  });
});

describe('generic HTTPS weather source configuration (WEATHER_SOURCE=http)', () => {
  const env = {
    WEATHER_URL: 'https://weather.example.com/v1/hourly',
    WEATHER_HTTP_FORMAT: 'csv',
  };

  it('defaults the field names and the auth header', () => {
    expect(parseHttpWeatherConfig(env)).toEqual({
      url: env.WEATHER_URL,
      format: 'csv',
      locationField: 'location',
      validTimeField: 'valid_time',
      issuedField: 'issued_at',
      variables: { temperature_2m: 'temperature_2m' },
      authHeader: 'Authorization',
    });
    const all = parseHttpWeatherConfig({
      ...env,
      WEATHER_HTTP_FORMAT: 'json',
      WEATHER_HTTP_LOCATION_FIELD: 'city',
      WEATHER_HTTP_VALID_TIME_FIELD: 'time',
      WEATHER_HTTP_ISSUED_FIELD: 'run',
      WEATHER_HTTP_VARIABLES: 'temperature_2m=t2m, cloud_cover',
      WEATHER_HTTP_ITEMS_PATH: 'data.rows',
      WEATHER_HTTP_AUTH_HEADER: 'X-Api-Key',
    });
    expect(all).toMatchObject({
      variables: { temperature_2m: 't2m', cloud_cover: 'cloud_cover' },
      itemsPath: 'data.rows',
      authHeader: 'X-Api-Key',
    });
    expect(loadConfig({ ...env, WEATHER_SOURCE: 'http' }).weather).toMatchObject({
      source: 'http',
      http: { format: 'csv' },
      maxAgeHours: 12,
    });
  });

  it.each([
    [{ WEATHER_URL: undefined }, 'WEATHER_URL: is not set'],
    [
      { WEATHER_URL: 'http://weather.example.com/' },
      'WEATHER_URL: must use https (plain http only for localhost)',
    ],
    [{ WEATHER_HTTP_FORMAT: 'xml' }, 'WEATHER_HTTP_FORMAT: must be "csv" or "json"'],
    [{ WEATHER_HTTP_VARIABLES: 'cloud_cover=c' }, 'WEATHER_HTTP_VARIABLES: must map temperature_2m'],
    [{ WEATHER_HTTP_VARIABLES: 'temperature_2m=t,wind=w' }, '"wind" is not a weather variable'],
    [{ WEATHER_HTTP_AUTH_HEADER: 'X Api Key' }, 'WEATHER_HTTP_AUTH_HEADER: must be an HTTP header name'],
    [{ WEATHER_HTTP_ITEMS_PATH: 'data..rows' }, 'WEATHER_HTTP_ITEMS_PATH: must be a dotted path'],
  ])('refuses %j naming the variable', (change, message) => {
    const bad = { ...env, WEATHER_SOURCE: 'http', ...change };
    expect(() => loadConfig(bad)).toThrow(ConfigurationError);
    expect(() => loadConfig(bad)).toThrow(message);
  });
});

describe('weather ingest from the generic source, with the key from the weather secret', () => {
  const SECRET = 'arn:aws:secretsmanager:eu-central-1:000000000000:secret:weather';
  const secrets = mockClient(SecretsManagerClient);
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    const stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([
      { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    await stores.weather.upsertWeatherLocations(LOCATIONS);
    await stores.weather.setSeriesWeatherLocations(series!.id, [
      { name: 'istanbul', weight: 0.6 },
      { name: 'ankara', weight: 0.4 },
    ]);
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET })
      .resolves({ SecretString: JSON.stringify({ apiKey: `Bearer ${API_KEY}` }) });
  });
  afterAll(async () => {
    secrets.restore();
    await db.drop();
  });

  it('stores one vintage under the source name, sending the secret as the configured header', async () => {
    server.route('GET', PATH, [{ body: JSON.stringify([...rows('istanbul', 20), ...rows('ankara', 10)]) }]);
    const runtime = openTestRuntime({
      DATABASE_URL: db.url,
      WEATHER_SOURCE: 'http',
      WEATHER_URL: `${server.baseUrl}${PATH}`,
      WEATHER_HTTP_FORMAT: 'json',
      WEATHER_HTTP_LOCATION_FIELD: 'city',
      WEATHER_HTTP_VALID_TIME_FIELD: 'time',
      WEATHER_HTTP_ISSUED_FIELD: 'run',
      WEATHER_HTTP_VARIABLES: 'temperature_2m=t2m,relative_humidity_2m=rh',
      WEATHER_SECRET_ARN: SECRET,
    });
    try {
      const weatherSource = configuredWeatherSource(runtime)!;
      expect(weatherSource.name).toBe('http-weather');
      const summary = await runtime.withStores((stores) =>
        runWeatherIngest(stores, weatherSource, { now: NOW, trigger: 'schedule' }),
      );
      expect(summary).toMatchObject({ locations: 2, values: 220, stored: 220, incomplete: [] });
      expect(server.requestsTo('GET', PATH)[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
      const [vintage] = await db.sql<{ n: number; source: string }[]>`
        select count(*)::int as n, min(source) as source from weather_vintages`;
      expect(vintage).toEqual({ n: 2, source: 'http-weather' });
    } finally {
      await runtime.close();
    }
  });
});

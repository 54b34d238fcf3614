import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresRunLog } from '../../../src/adapters/postgres/run-log.ts';
import { PostgresWeatherStore } from '../../../src/adapters/postgres/weather-store.ts';
import { OpenMeteoWeatherSource } from '../../../src/adapters/sources/open-meteo.ts';
import type { TransportOptions } from '../../../src/adapters/sources/transport.ts';
import { runWeatherIngest } from '../../../src/core/use-cases/run-weather-ingest.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../../helpers/fake-http-server.ts';
import { sourceFailure } from '../../helpers/sources.ts';

const PATH = '/v1/forecast';
const H = 3_600_000;
const NOW = Date.UTC(2025, 6, 1, 4, 2); // 07:02 in Türkiye
const HOUR = Date.UTC(2025, 6, 1, 4);
const API_KEY = 'om-commercial-key-123456';
const FAST: TransportOptions = { timeoutMs: 300, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } };
const LOCATIONS = [
  { name: 'istanbul', latitude: 41.0082, longitude: 28.9784 },
  { name: 'ankara', latitude: 39.9334, longitude: 32.8597 },
];

/** An Open-Meteo location answer: `hours` hourly values from `first`, temperature base + k/10. */
function answer(first: number, hours: number, base: number) {
  const time = Array.from({ length: hours }, (_, k) => (first + k * H) / 1000);
  return {
    latitude: 41,
    longitude: 29,
    generationtime_ms: 0.5,
    utc_offset_seconds: 0,
    timezone: 'GMT',
    timezone_abbreviation: 'GMT',
    elevation: 30,
    hourly_units: { time: 'unixtime', temperature_2m: '°C', relative_humidity_2m: '%', cloud_cover: '%' },
    hourly: {
      time,
      temperature_2m: time.map((_, k) => base + k / 10),
      relative_humidity_2m: time.map(() => 60),
      cloud_cover: time.map(() => 20),
    },
  };
}

const FULL = 6 + 49;
let server: FakeHttpServer;
beforeEach(async () => {
  server = await startFakeHttpServer();
});
afterEach(() => server.close());

const source = (apiKey?: string) =>
  new OpenMeteoWeatherSource({
    url: `${server.baseUrl}${PATH}`,
    transport: FAST,
    ...(apiKey ? { apiKey } : {}),
  });

describe('Open-Meteo forecast source', () => {
  it('asks once for all locations and reads the array answer into UTC hours', async () => {
    server.route('GET', PATH, [
      { body: JSON.stringify([answer(HOUR - 6 * H, FULL, 20), answer(HOUR - 6 * H, FULL, 10)]) },
    ]);
    const got = await source(API_KEY).fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 });
    const [req] = server.requestsTo('GET', PATH);
    expect(Object.fromEntries(req!.query)).toEqual({
      latitude: '41.0082,39.9334',
      longitude: '28.9784,32.8597',
      hourly: 'temperature_2m,relative_humidity_2m,cloud_cover',
      past_hours: '6',
      forecast_hours: '49',
      timeformat: 'unixtime',
      timezone: 'GMT',
      apikey: API_KEY,
    });
    expect(got.issuedAt).toBe(NOW);
    expect(got.incomplete).toEqual([]);
    expect(got.values).toHaveLength(2 * 3 * FULL);
    const ankara24 = got.values.find(
      (v) => v.location === 'ankara' && v.variable === 'temperature_2m' && v.validHour === HOUR + 24 * H,
    );
    expect(ankara24!.value).toBeCloseTo(10 + 30 / 10, 6);
    expect([got.from, got.to]).toEqual([HOUR - 6 * H, HOUR + 48 * H]);
  });

  it('keeps a partial answer and names what is missing', async () => {
    const short = answer(HOUR - 6 * H, 6 + 20, 20); // ends 19 h ahead
    (short.hourly.temperature_2m as (number | null)[])[10] = null; // a gap: left out, not an error
    (short.hourly.cloud_cover as unknown[])[3] = 'n/a';
    server.route('GET', PATH, [{ body: JSON.stringify([short]) }]);
    const got = await source().fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 });
    expect(got.incomplete).toEqual([
      { location: 'istanbul', reason: '1 malformed or out-of-range values left out' },
      {
        location: 'istanbul',
        reason: 'temperatures end at 2025-07-01T23:00:00Z, before 2025-07-03T04:00:00Z (48 h ahead)',
      },
      { location: 'ankara', reason: 'missing from the answer' },
    ]);
    expect(got.values.filter((v) => v.variable === 'temperature_2m')).toHaveLength(25);
    expect(got.values.every((v) => v.location === 'istanbul')).toBe(true);
  });

  it('refuses a stale answer (an old forecast served again) and an answer without values', async () => {
    server.route('GET', PATH, [
      { body: JSON.stringify([answer(HOUR - 60 * H, 50, 20), answer(HOUR - 60 * H, 50, 10)]) },
    ]);
    expect(
      (await sourceFailure(source().fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 }))).message,
    ).toBe(
      'open-meteo source: GET /v1/forecast: stale answer: the newest hour is 2025-06-30T17:00:00Z, before the current hour 2025-07-01T04:00:00Z',
    );
    server.route('GET', PATH, [{ body: JSON.stringify([{ hourly: { time: [] } }]) }]);
    expect(
      (await sourceFailure(source().fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 }))).message,
    ).toMatch(/no usable values for any of 2 locations/);
  });

  it('times out a server that never answers, after its retries', async () => {
    server.route('GET', PATH, [{ hang: true }]);
    const error = await sourceFailure(source().fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 }));
    expect(error.message).toBe(
      'open-meteo source: GET /v1/forecast: timed out after 300 ms (gave up after 2 attempts)',
    );
    expect(server.requestsTo('GET', PATH)).toHaveLength(2);
  });

  it("reports the provider's reason and a refused key, never the key itself", async () => {
    server.route('GET', PATH, [
      {
        status: 400,
        body: JSON.stringify({ error: true, reason: 'Latitude must be in range of -90 to 90°.' }),
      },
    ]);
    expect(
      (await sourceFailure(source(API_KEY).fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 })))
        .message,
    ).toBe('open-meteo source: GET /v1/forecast: HTTP 400: Latitude must be in range of -90 to 90°.');
    server.route('GET', PATH, [
      { status: 401, body: JSON.stringify({ error: true, reason: `API key ${API_KEY} is invalid` }) },
    ]);
    const refused = await sourceFailure(
      source(API_KEY).fetch({ locations: LOCATIONS, now: NOW, hoursAhead: 48 }),
    );
    expect(refused.message).toMatch(
      /HTTP 401: API key \[redacted\] is invalid \(check the API key in the weather secret\)/,
    );
    expect(refused.message).not.toContain(API_KEY);
  });
});

describe('weather ingest (run "weather")', () => {
  let db: TestDatabase;
  let weather: PostgresWeatherStore;
  let seriesId: number;
  beforeAll(async () => {
    db = await createTestDatabase();
    weather = new PostgresWeatherStore(db.sql);
    const [row] = await db.sql<
      { id: number }[]
    >`insert into series (name, country, timezone) values ('turkey', 'TR', 'Europe/Istanbul') returning id`;
    seriesId = row!.id;
    await weather.upsertWeatherLocations(LOCATIONS);
    await weather.setSeriesWeatherLocations(seriesId, [
      { name: 'istanbul', weight: 0.7 },
      { name: 'ankara', weight: 0.3 },
    ]);
  });
  afterAll(() => db.drop());

  it('stores a vintage per fetch; a repeated identical answer stores no values but is a vintage', async () => {
    server.route('GET', PATH, [
      { body: JSON.stringify([answer(HOUR - 6 * H, FULL, 20), answer(HOUR - 6 * H, FULL, 10)]) },
    ]);
    const stores = { runs: new PostgresRunLog(db.sql), weather };
    const first = await runWeatherIngest(stores, source(), { now: NOW, trigger: 'schedule' });
    expect(first).toMatchObject({ locations: 2, values: 330, stored: 330, incomplete: [] });
    const second = await runWeatherIngest(stores, source(), { now: NOW + 600_000, trigger: 'schedule' });
    expect(second).toMatchObject({ values: 330, stored: 0 });
    expect((await weather.latestWeatherIssues(['istanbul', 'ankara'], NOW + 2 * H)).get('ankara')).toBe(
      NOW + 600_000,
    );
    const runs = await db.sql<{ function_name: string; outcome: string; rows_written: number }[]>`
      select function_name, outcome, rows_written from runs order by id`;
    expect(runs).toEqual([
      { function_name: 'weather', outcome: 'success', rows_written: 330 },
      { function_name: 'weather', outcome: 'success', rows_written: 0 },
    ]);
  });

  it('records a failed fetch as a failed weather run', async () => {
    server.route('GET', PATH, [{ status: 503, body: '{}' }]);
    const stores = { runs: new PostgresRunLog(db.sql), weather };
    await expect(
      runWeatherIngest(stores, source(), { now: NOW + 3 * H, trigger: 'schedule' }),
    ).rejects.toThrow(/HTTP 503 \(gave up after 2 attempts\)/);
    const [run] = await db.sql<{ outcome: string; error: string }[]>`
      select outcome, error from runs order by id desc limit 1`;
    expect(run!.outcome).toBe('failed');
  });
});

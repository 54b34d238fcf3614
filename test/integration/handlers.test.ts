import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { importHandlers, lambdaContext, scheduled } from '../helpers/handlers.ts';

const START = Date.UTC(2025, 0, 1);
const END = Date.UTC(2025, 2, 31, 23); // three months of synthetic actuals

describe('Lambda handlers against the real database', () => {
  let db: TestDatabase;
  let handlers: Awaited<ReturnType<typeof importHandlers>>;
  let store: ReturnType<typeof createPostgresStores>;

  const count = async (table: 'predictions' | 'evaluations' | 'runs', where = db.sql`true`) =>
    (await db.sql<{ n: number }[]>`select count(*)::int as n from ${db.sql(table)} where ${where}`)[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase();
    handlers = importHandlers({ DATABASE_URL: db.url, PULSE_DEFAULT_MODEL: 'seasonal-naive-168h' });
    store = createPostgresStores(db.sql);
    const [a, b] = await createPostgresStores(db.sql).series.ensureSeries([
      { name: 'north', country: 'TR', timezone: 'Europe/Istanbul' },
      { name: 'south', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    await store.actuals.upsertActuals(a!.id, generateSyntheticSeries({ from: START, to: END, seed: 1 }), END);
    await store.actuals.upsertActuals(
      b!.id,
      generateSyntheticSeries({ from: START, to: END, seed: 2, level: 20_000 }),
      END,
    );
  });
  afterAll(async () => {
    await handlers.reset();
    await db.drop();
  });

  it('forecasts every series 1–24 h past its newest actual on the scheduled event, with true horizons', async () => {
    const result = await handlers.forecast(
      scheduled('2025-04-01T02:07:00Z'),
      lambdaContext('pulse-forecast'),
    );
    expect(result).toMatchObject({ seriesCount: 2, forecastsWritten: 48, okSeries: 2, fallbackSeries: 0 });
    const rows = await db.sql<
      { horizon: number; target_hour: Date; last_input_hour: Date; issued_at: Date }[]
    >`
      select horizon, target_hour, last_input_hour, issued_at from predictions p
      join series s on s.id = p.series_id where s.name = 'north' order by horizon`;
    expect(rows).toHaveLength(24);
    // The newest actual is 2025-03-31T23:00Z, three hours before the run: 00:00 is horizon 1, 02:00 horizon 3.
    expect(rows[0]!.last_input_hour.toISOString()).toBe('2025-03-31T23:00:00.000Z');
    expect(rows[2]!.target_hour.toISOString()).toBe('2025-04-01T02:00:00.000Z');
    expect(rows[0]!.issued_at.toISOString()).toBe('2025-04-01T02:07:00.000Z');
    const [run] =
      await db.sql`select outcome, series_count, rows_written from runs where function_name = 'forecast'`;
    expect(run).toEqual({ outcome: 'success', series_count: 2, rows_written: 48 });
  });

  it('changes nothing when the same scheduled event is delivered twice or two invokes overlap', async () => {
    const before = await count('predictions');
    const event = scheduled('2025-04-01T02:07:00Z');
    const [a, b] = await Promise.all([handlers.forecast(event), handlers.forecast(event)]);
    expect([a, b].map((r) => (r as { forecastsWritten: number }).forecastsWritten)).toEqual([0, 0]);
    expect(await count('predictions')).toBe(before);
  });

  it('backfills a range hour by hour using only earlier actuals', async () => {
    const result = (await handlers.forecast(
      { mode: 'backfill', from: '2025-03-01T00:00:00Z', to: '2025-03-07T23:00:00Z', series: ['north'] },
      lambdaContext('pulse-forecast'),
    )) as { origins: number; forecastsWritten: number };
    expect(result.origins).toBe(7 * 24);
    expect(result.forecastsWritten).toBe(7 * 24 * 24);
    // Seasonal naive 168 h: the forecast for 2025-03-03T12:00 at horizon 1 is the actual a week earlier.
    const [p] = await db.sql<{ value: number; issued_at: Date }[]>`
      select value, issued_at from predictions p join series s on s.id = p.series_id
      where s.name = 'north' and horizon = 1 and target_hour = '2025-03-03T12:00:00Z'`;
    const [weekBefore] = await db.sql<{ value: number }[]>`
      select value from actuals a join series s on s.id = a.series_id
      where s.name = 'north' and hour = '2025-02-24T12:00:00Z'`;
    expect(p!.value).toBe(weekBefore!.value);
    expect(p!.issued_at.toISOString()).toBe('2025-03-03T12:00:00.000Z');
    const leaks = await db.sql`select 1 from predictions where issued_at <= last_input_hour`;
    expect(leaks).toHaveLength(0);
  });

  it('scores late actuals, re-scores revised ones, and reports rollups', async () => {
    const first = (await handlers.evaluate({
      mode: 'evaluate',
      at: '2025-04-01T00:17:00Z',
      since: '2025-03-01T00:00:00Z',
    })) as {
      scored: number;
      rescored: number;
    };
    expect(first.scored).toBe(7 * 24 * 24); // every backfilled forecast has matured; the scheduled ones have not
    expect(first.rescored).toBe(0);
    // Hour 00:00 of 1 April arrives late; 30 March 12:00 is revised.
    const [north] = await store.series.findSeries(['north']);
    await store.actuals.upsertActuals(
      north!.id,
      [{ hour: Date.UTC(2025, 3, 1, 0), value: 41_000 }],
      Date.UTC(2025, 3, 1, 3),
    );
    const second = (await handlers.evaluate(scheduled('2025-04-01T03:17:00Z'))) as {
      scored: number;
      rescored: number;
    };
    expect(second.scored).toBe(1); // the horizon-1 forecast made from 2025-03-31T23:00
    const [e] = await db.sql<{ actual: number; predicted: number; abs_error: number }[]>`
      select actual, predicted, abs_error from evaluations where target_hour = '2025-04-01T00:00:00Z'`;
    expect(e!.actual).toBe(41_000);
    expect(e!.abs_error).toBeCloseTo(Math.abs(e!.predicted - 41_000), 9);
  });

  it('rejects a bad backfill payload with an error naming the field, and stores nothing', async () => {
    const before = await count('predictions');
    await expect(
      handlers.forecast({ mode: 'backfill', from: '2025-03-01T00:30:00Z', to: '2025-03-02T00:00:00Z' }),
    ).rejects.toThrow(/invalid backfill payload: from: must be on the hour/);
    await expect(
      handlers.forecast({ mode: 'backfill', from: 'yesterday', to: '2025-03-02T00:00:00Z' }),
    ).rejects.toThrow(/from: must be an ISO 8601 time/);
    await expect(
      handlers.forecast({ mode: 'backfill', from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' }),
    ).rejects.toThrow(/"from" must not be after "to"/);
    await expect(
      handlers.forecast({
        mode: 'backfill',
        from: '2025-03-01T00:00:00Z',
        to: '2025-03-02T00:00:00Z',
        serie: ['x'],
      }),
    ).rejects.toThrow(/Unrecognized key.*serie/i);
    await expect(handlers.forecast({ mode: 'replay' })).rejects.toThrow(
      /mode: expected "backfill" or "forecast"/,
    );
    await expect(handlers.forecast('backfill')).rejects.toThrow(/must be a JSON object/);
    expect(await count('predictions')).toBe(before);
  });

  it('stores flagged fallbacks with the reason for each failed input check', async () => {
    const [north] = await store.series.findSeries(['north']);
    const id = north!.id;
    const at = (h: number) => new Date(Date.UTC(2025, 3, 1, h));
    const forecastAt = async (time: string) =>
      (await handlers.forecast({ mode: 'forecast', at: time, series: ['north'] })) as {
        fallbackReasons: Record<string, number>;
      };

    // stale: newest actual (00:00) ended 9 h before 10:07, limit 6 h
    expect((await forecastAt('2025-04-01T10:07:00Z')).fallbackReasons).toEqual({ stale: 1 });

    // flat line: a stuck meter repeats 00:00's value for 6 hours
    await store.actuals.upsertActuals(
      id,
      [1, 2, 3, 4, 5].map((h) => ({ hour: at(h).getTime(), value: 41_000 })),
      Date.now(),
    );
    const flat = await forecastAt('2025-04-01T06:07:00Z');
    expect(flat.fallbackReasons).toEqual({ 'flat-line': 1 });

    // implausible: a ×10 spike
    await store.actuals.upsertActuals(id, [{ hour: at(6).getTime(), value: 410_000 }], Date.now());
    expect((await forecastAt('2025-04-01T07:07:00Z')).fallbackReasons).toEqual({ 'implausible-value': 1 });

    // missing hours: 07:00 never arrives, 08:00 does
    await store.actuals.upsertActuals(id, [{ hour: at(8).getTime(), value: 40_000 }], Date.now());
    expect((await forecastAt('2025-04-01T09:07:00Z')).fallbackReasons).toEqual({ 'missing-hours': 1 });

    const reasons = await db.sql<{ reason: string; method: string; n: number }[]>`
      select split_part(reason, ':', 1) as reason, method, count(*)::int as n from predictions
      where quality = 'fallback' group by 1, 2 order by 1`;
    expect(reasons.map((r) => r.reason)).toEqual([
      'flat-line',
      'implausible-value',
      'missing-hours',
      'stale',
    ]);
    expect(reasons.every((r) => r.n === 24 && r.method === 'seasonal-naive-168h')).toBe(true);
    // the spike is never repeated by a fallback
    const [max] = await db.sql<
      { v: number }[]
    >`select max(value) as v from predictions where quality = 'fallback'`;
    expect(max!.v).toBeLessThan(100_000);
  });

  it('records a run for every invoke', async () => {
    const runs = await db.sql<{ function_name: string; n: number }[]>`
      select function_name, count(*)::int as n from runs group by 1 order by 1`;
    expect(Object.fromEntries(runs.map((r) => [r.function_name, r.n]))).toMatchObject({
      backfill: 1,
      evaluate: 2,
    });
    expect(toIso(START + HOUR_MS)).toBe('2025-01-01T01:00:00Z');
  });
});

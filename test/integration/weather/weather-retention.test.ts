import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEvaluationStore } from '../../../src/adapters/postgres/evaluation-store.ts';
import { expireWeather, type PostgresWeatherStore } from '../../../src/adapters/postgres/weather-store.ts';
import { WEATHER_AHEAD_HOURS, WEATHER_LAG_HOURS } from '../../../src/core/weather.ts';
import type { TestDatabase } from '../../helpers/db.ts';
import { createWeatherTestDatabase, hourlyTemperatures } from '../../helpers/weather.ts';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
// Retention 1 month at 2025-03-10 12:00: the prediction cutoff is 2025-02-10 12:00, its month starts
// 2025-02-01, so forecasts made from 2025-01-25 00:00 on (168 h earlier) must stay rebuildable.
const NOW = at('2025-03-10T12:00:00Z');
const FLOOR = at('2025-01-25T00:00:00Z');

describe('weather retention (pulse_expire_weather, run by the hourly evaluation)', () => {
  let db: TestDatabase;
  let store: PostgresWeatherStore;

  const temps = (location: string, from: number, hours: number, value: (k: number) => number) =>
    hourlyTemperatures(
      location,
      from,
      Array.from({ length: hours }, (_, k) => value(k)),
    );
  const forecast = (
    issued: string,
    location: string,
    from: string,
    hours: number,
    value: (k: number) => number,
  ) =>
    store.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: at(issued),
      values: temps(location, at(from), hours, value),
    });

  /** Every hourly "as of" read a forecast from FLOOR to NOW could make: the weather it saw, and its freshness. */
  async function rebuilds(): Promise<string[]> {
    const out: string[] = [];
    for (let asOf = FLOOR; asOf <= FLOOR + 10 * 24 * H; asOf += H) {
      const read = await store.readWeatherAsOf({
        locations: ['ankara', 'izmir'],
        variable: 'temperature_2m',
        from: asOf - WEATHER_LAG_HOURS * H,
        to: asOf + WEATHER_AHEAD_HOURS * H,
        asOf,
      });
      const issues = await store.latestWeatherIssues(['ankara', 'izmir'], asOf);
      for (const [location, series] of read) {
        out.push(`${asOf} ${location} ${issues.get(location)} ${[...series.values].join(',')}`);
      }
    }
    return out;
  }

  async function counts() {
    const [c] = await db.sql<{ forecast: number; observed: number; vintages: number }[]>`
      select (select count(*)::int from weather_values where not observed) as forecast,
             (select count(*)::int from weather_values where observed) as observed,
             (select count(*)::int from weather_vintages) as vintages`;
    return c!;
  }

  beforeAll(async () => {
    ({ db, store } = await createWeatherTestDatabase());
    await db.sql`update storage_settings set raw_retention = interval '1 month'`;
    // Observed weather (the training history), long before the floor: never removed.
    await store.writeWeather({
      kind: 'observed',
      source: 'reanalysis',
      values: temps('ankara', at('2025-01-01T00:00:00Z'), 48, (k) => k / 10),
    });
    // A: valid hours all before FLOOR − 168 h: no rebuild can read them (48 values, 1 vintage).
    await forecast('2025-01-10T00:00:00Z', 'ankara', '2025-01-10T00:00:00Z', 48, (k) => 100 + k);
    // B and C before the floor: C changes B's hours from 2025-01-24 18:00 on, so those 31 B values
    // are superseded at the floor; B's first 18 hours stay the newest held and are kept.
    await forecast('2025-01-24T00:00:00Z', 'ankara', '2025-01-24T00:00:00Z', 49, (k) => 200 + k);
    await forecast('2025-01-24T12:00:00Z', 'ankara', '2025-01-24T12:00:00Z', 37, (k) =>
      k < 6 ? 212 + k : 300 + k,
    );
    // D after the floor changes C's last hours: C stays the weather of every origin before D.
    await forecast('2025-01-25T06:00:00Z', 'ankara', '2025-01-25T06:00:00Z', 48, (k) => 400 + k);
    // izmir: an old vintage (kept: the newest at the floor) and nothing newer, so it is what a forecast
    // at the floor sees as izmir's newest (and too old) forecast.
    await forecast('2025-01-20T00:00:00Z', 'izmir', '2025-01-20T00:00:00Z', 24, (k) => 10 + k);
    await forecast('2025-01-21T00:00:00Z', 'izmir', '2025-01-21T00:00:00Z', 24, (k) => 20 + k);
  });
  afterAll(() => db.drop());

  it('removes only what no stored forecast can read, in bounded steps, and every rebuild stays the same', async () => {
    const before = await counts();
    // A 48 + B 49 + C 31 (its first 6 equal B's) + D 48 + izmir 24 + 24 forecast values; 6 vintages.
    expect(before).toEqual({ forecast: 224, observed: 48, vintages: 6 });
    const rebuiltBefore = await rebuilds();

    // At most 20 rows per table and call: the backlog drains over several calls.
    const first = await expireWeather(db.sql, NOW, 20);
    expect(first).toEqual({ originFloor: FLOOR, valuesDeleted: 20, vintagesDeleted: 3 });
    const steps = [first.valuesDeleted];
    for (;;) {
      const next = await expireWeather(db.sql, NOW, 20);
      if (next.valuesDeleted === 0 && next.vintagesDeleted === 0) break;
      steps.push(next.valuesDeleted);
    }
    // Values: A's 48 (valid before 2025-01-18) and B's 31 superseded ones. Vintages: A's and B's (C is the
    // newest at the floor) and izmir's first (its values stay: no later vintage covers their hours).
    expect(steps).toEqual([20, 20, 20, 19]);
    expect(await counts()).toEqual({ forecast: 224 - 79, observed: 48, vintages: 3 });
    expect(await rebuilds()).toEqual(rebuiltBefore);

    const [left] = await db.sql<{ a: number; b: number }[]>`
      select count(*) filter (where issued_at = '2025-01-10T00:00:00Z')::int as a,
             count(*) filter (where issued_at = '2025-01-24T00:00:00Z')::int as b
      from weather_values where location = 'ankara' and not observed`;
    expect(left).toEqual({ a: 0, b: 18 });
  });

  it('runs in the hourly evaluation step that drops expired prediction months; the app role may only call it', async () => {
    await forecast('2025-01-20T00:00:00Z', 'ankara', '2025-01-10T00:00:00Z', 2, (k) => 900 + k);
    expect((await counts()).forecast).toBe(224 - 79 + 2);
    await new PostgresEvaluationStore(db.sql).refreshRollups(NOW);
    expect((await counts()).forecast).toBe(224 - 79);

    const [grants] = await db.sql`
      select has_function_privilege('pulse_app', 'pulse_expire_weather(timestamptz, integer, integer, integer)', 'execute') as expire,
             has_table_privilege('pulse_app', 'weather_values', 'delete') as delete_values,
             has_table_privilege('pulse_app', 'weather_vintages', 'delete') as delete_vintages`;
    expect(grants).toEqual({ expire: true, delete_values: false, delete_vintages: false });
  });

  it('keeps everything while retention reaches back before the oldest vintage', async () => {
    const before = await counts();
    // A day later than the floor month allows nothing new: the same floor, nothing left to remove.
    expect(await expireWeather(db.sql, NOW + 24 * H)).toEqual({
      originFloor: FLOOR,
      valuesDeleted: 0,
      vintagesDeleted: 0,
    });
    await db.sql`update storage_settings set raw_retention = interval '13 months'`;
    const floor13 = (await expireWeather(db.sql, NOW)).originFloor;
    expect(new Date(floor13).toISOString()).toBe('2024-01-25T00:00:00.000Z');
    expect(await counts()).toEqual(before);
  });
});

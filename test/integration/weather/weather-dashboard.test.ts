import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../../src/adapters/postgres/stores.ts';
import type { Forecaster } from '../../../src/core/forecaster.ts';
import { HOUR_MS } from '../../../src/core/time.ts';
import { runForecast } from '../../../src/core/use-cases/run-forecast.ts';
import { dashboardQueries } from '../../helpers/dashboard-queries.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { expandGrafanaSql } from '../../helpers/grafana-macros.ts';
import { seedWeatherSeries, stubForecaster } from '../../helpers/weather.ts';

const LAST = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS;
const START = LAST - (20 * 24 - 1) * HOUR_MS;

const stub = (version: string, weather?: { calendarFallback: Forecaster | null }) =>
  stubForecaster(version, 1000, weather);

describe('Operations dashboard: weather panel on a real database', () => {
  let db: TestDatabase;
  let ids: number[];
  beforeAll(async () => {
    db = await createTestDatabase();
    const stores = createPostgresStores(db.sql);
    const series = await seedWeatherSeries(stores, {
      names: ['with-weather', 'plain'],
      from: START,
      to: LAST,
      level: 25_000,
      locations: [
        { name: 'x', latitude: 40, longitude: 30 },
        { name: 'y', latitude: 39, longitude: 33 },
      ],
    });
    ids = series.map((s) => s.id);
    await stores.weather.setSeriesWeatherLocations(series[0]!.id, [
      { name: 'x', weight: 0.5 },
      { name: 'y', weight: 0.5 },
    ]);
    // y was fetched 30 h before the run, x 1 h before: the series' weather is as old as y's.
    const value = (location: string, k: number) => ({
      location,
      variable: 'temperature_2m' as const,
      validHour: LAST + k * HOUR_MS,
      value: 10,
    });
    const asOf = LAST + HOUR_MS + 7 * 60_000;
    await stores.weather.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: asOf - 30 * HOUR_MS,
      values: [value('y', 1)],
    });
    await stores.weather.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: asOf - HOUR_MS,
      values: [value('x', 1)],
    });
    const resolver = {
      forecasterFor: () => stub('wx', { calendarFallback: stub('cal') }),
      maxWindowHours: 336,
    };
    await runForecast(stores, resolver, { asOf, trigger: 'test', seriesNames: ['with-weather'] });
  });
  afterAll(() => db.drop());

  it("shows the stalest location's newest forecast, its age and the forecasts made without weather", async () => {
    const query = dashboardQueries('operations').find((q) => q.key === 'panel: Weather forecasts A')!;
    const sql = expandGrafanaSql(query.rawSql, {
      from: START,
      to: Date.now() + HOUR_MS,
      intervalMs: HOUR_MS,
      variables: {
        series: { value: ids.map(String), multi: true, includeAll: true },
        model: { value: ['wx'], multi: true, includeAll: true },
      },
    });
    const rows = [...(await db.sql.unsafe(sql))] as Record<string, unknown>[];
    expect(
      rows.map((r) => [r.series, r['weather locations'], Number(r['forecasts without weather'])]),
    ).toEqual([
      ['with-weather', 2, 1],
      ['plain', 0, 0],
    ]);
    const age = Number(rows[0]!['age (h)']);
    expect(age).toBeGreaterThan(29);
    expect(age).toBeLessThan(32);
    expect(rows[0]!['last reason']).toMatch(
      /^weather-stale: newest forecast for y issued .*, 30\.0 h ago \(limit 12 h\)$/,
    );
  });
});

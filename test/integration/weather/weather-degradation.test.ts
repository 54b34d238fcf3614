import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../../../src/adapters/postgres/stores.ts';
import { HOUR_MS } from '../../../src/core/time.ts';
import { runForecast } from '../../../src/core/use-cases/run-forecast.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { seedWeatherSeries, stubForecaster } from '../../helpers/weather.ts';

const START = Date.UTC(2025, 5, 1, 0);
const LAST = START + (20 * 24 - 1) * HOUR_MS;
const AS_OF = LAST + HOUR_MS + 7 * 60_000;

describe('weather models degrade to their calendar-only model, labelled, never delayed', () => {
  let db: TestDatabase;
  let stores: PostgresStores;
  let seriesIds: Record<string, number>;
  const calendarOnly = stubForecaster('cal-model', 100);
  const weatherModel = stubForecaster('wx-model', 200, { calendarFallback: calendarOnly });
  const resolver = { forecasterFor: () => weatherModel, maxWindowHours: 336 };

  beforeAll(async () => {
    db = await createTestDatabase();
    stores = createPostgresStores(db.sql);
    const series = await seedWeatherSeries(stores, {
      names: ['fresh', 'stale', 'none'],
      from: START,
      to: LAST,
      level: 30_000,
      locations: [
        { name: 'a', latitude: 40, longitude: 30 },
        { name: 'b', latitude: 38, longitude: 35 },
        { name: 'c', latitude: 37, longitude: 27 },
      ],
    });
    seriesIds = Object.fromEntries(series.map((s) => [s.name, s.id]));
    await stores.weather.setSeriesWeatherLocations(seriesIds.fresh!, [
      { name: 'a', weight: 0.75 },
      { name: 'b', weight: 0.25 },
    ]);
    await stores.weather.setSeriesWeatherLocations(seriesIds.stale!, [{ name: 'c', weight: 1 }]);
    // Observed history for every location, then forecast vintages: fresh for a and b, 13 h old for c.
    const hours = Array.from({ length: 24 * 20 }, (_, k) => START + k * HOUR_MS);
    const temp = (l: string, h: number) =>
      (l === 'a' ? 10 : l === 'b' ? 30 : 20) + (h - START) / HOUR_MS / 1000;
    await stores.weather.writeWeather({
      kind: 'observed',
      source: 'test',
      values: ['a', 'b', 'c'].flatMap((l) =>
        hours
          .filter((h) => h <= LAST)
          .map((h) => ({
            location: l,
            variable: 'temperature_2m' as const,
            validHour: h,
            value: temp(l, h),
          })),
      ),
    });
    const ahead = Array.from({ length: 48 }, (_, k) => LAST + (k + 1) * HOUR_MS);
    const forecast = (l: string, shift: number) =>
      ahead.map((h) => ({
        location: l,
        variable: 'temperature_2m' as const,
        validHour: h,
        value: temp(l, h) + shift,
      }));
    await stores.weather.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: AS_OF - 13 * HOUR_MS,
      values: forecast('c', 0),
    });
    await stores.weather.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: AS_OF - 2 * HOUR_MS,
      values: [...forecast('a', 1), ...forecast('b', 1)],
    });
    // A vintage issued after the run must not be seen by it.
    await stores.weather.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: AS_OF + HOUR_MS,
      values: forecast('a', 5),
    });
  });
  afterAll(() => db.drop());

  it('forecasts fresh series with weather, the others with the calendar-only model and the reason', async () => {
    const summary = await runForecast(stores, resolver, {
      asOf: AS_OF,
      trigger: 'test',
      weatherMaxAgeHours: 12,
    });
    expect(summary).toMatchObject({ seriesCount: 3, okSeries: 3, fallbackSeries: 0, weatherDegraded: 2 });

    const rows = await db.sql<
      {
        name: string;
        model_version: string;
        method: string;
        value: number;
        quality: string;
        reason: string | null;
      }[]
    >`
      select s.name, p.model_version, p.method, p.value, p.quality, p.reason
      from predictions p join series s on s.id = p.series_id where p.horizon = 1 order by s.name`;
    expect(rows).toEqual([
      {
        name: 'fresh',
        model_version: 'wx-model',
        method: 'wx-model',
        value: 200,
        quality: 'ok',
        reason: null,
      },
      {
        name: 'none',
        model_version: 'wx-model',
        method: 'cal-model',
        value: 100,
        quality: 'ok',
        reason: 'weather-missing: the series has no weather locations configured',
      },
      {
        name: 'stale',
        model_version: 'wx-model',
        method: 'cal-model',
        value: 100,
        quality: 'ok',
        reason: `weather-stale: newest forecast for c issued ${new Date(AS_OF - 13 * HOUR_MS).toISOString().replace('.000Z', 'Z')}, 13.0 h ago (limit 12 h)`,
      },
    ]);

    // The weather model saw the vintage held at the run: observed lags, the 2-hour-old forecast ahead.
    const [w] = weatherModel.seen;
    const weather = w!.weather!;
    expect(weather.locations.map((l) => l.weight)).toEqual([0.75, 0.25]);
    const t = (k: number, h: number) => weather.locations[k]!.temperature[weather.originIndex + h]!;
    const hourIndex = (LAST - START) / HOUR_MS;
    expect(t(0, 0)).toBeCloseTo(10 + hourIndex / 1000, 4);
    expect(t(0, 1)).toBeCloseTo(10 + (hourIndex + 1) / 1000 + 1, 4);
    expect(t(1, 24)).toBeCloseTo(30 + (hourIndex + 24) / 1000 + 1, 4);
    expect(t(0, -168)).toBeCloseTo(10 + (hourIndex - 168) / 1000, 4);
    expect(calendarOnly.seen.map((x) => x.seriesId).sort()).toEqual([seriesIds.none, seriesIds.stale].sort());
    expect(calendarOnly.seen.every((x) => x.weather === undefined)).toBe(true);
  });

  it('without a calendar-only model, labels the seasonal-naive fallback with the weather reason', async () => {
    const alone = stubForecaster('wx-alone', 200, { calendarFallback: null });
    const summary = await runForecast(
      stores,
      { forecasterFor: () => alone, maxWindowHours: 336 },
      { asOf: AS_OF, trigger: 'test', seriesNames: ['stale'], weatherMaxAgeHours: 12 },
    );
    expect(summary).toMatchObject({
      okSeries: 0,
      fallbackSeries: 1,
      fallbackReasons: { 'weather-missing': 1 },
    });
  });
});

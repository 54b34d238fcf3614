import type { PostgresStores } from '../../src/adapters/postgres/stores.ts';
import { PostgresWeatherStore } from '../../src/adapters/postgres/weather-store.ts';
import type { Forecaster, ForecastWindow } from '../../src/core/forecaster.ts';
import type { SeriesInfo } from '../../src/core/series.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import type { WeatherValue } from '../../src/core/ports/weather.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/** Two weather locations the weather tests share. */
export const TEST_WEATHER_LOCATIONS = [
  { name: 'ankara', latitude: 39.93, longitude: 32.86 },
  { name: 'izmir', latitude: 38.42, longitude: 27.14 },
] as const;

/** A fresh database with a weather store that knows TEST_WEATHER_LOCATIONS. */
export async function createWeatherTestDatabase(): Promise<{
  db: TestDatabase;
  store: PostgresWeatherStore;
}> {
  const db = await createTestDatabase();
  const store = new PostgresWeatherStore(db.sql);
  await store.upsertWeatherLocations(TEST_WEATHER_LOCATIONS);
  return { db, store };
}

/** Hourly temperatures of one location: values[k] at from + k hours. */
export function hourlyTemperatures(
  location: string,
  from: number,
  values: readonly number[],
): WeatherValue[] {
  return values.map((value, k) => ({
    location,
    variable: 'temperature_2m' as const,
    validHour: from + k * HOUR_MS,
    value,
  }));
}

/** A stub model: forecasts `level` for every hour and keeps the windows it was given (`seen`). */
export function stubForecaster(
  version: string,
  level: number,
  weather?: { calendarFallback: Forecaster | null },
): Forecaster & { seen: ForecastWindow[] } {
  const seen: ForecastWindow[] = [];
  return {
    version,
    windowHours: 336,
    horizons: 24,
    seen,
    async forecast(windows) {
      seen.push(...windows);
      return windows.map(() => ({ values: new Float64Array(24).fill(level) }));
    },
    ...(weather ? { weather } : {}),
  };
}

/**
 * Turkish series with synthetic actuals over [from, to] (level `level`, seeded by their ids) and the weather
 * locations they may follow; which series follows which is the test's to say.
 */
export async function seedWeatherSeries(
  stores: PostgresStores,
  options: {
    readonly names: readonly string[];
    readonly from: number;
    readonly to: number;
    readonly level: number;
    readonly locations: readonly { name: string; latitude: number; longitude: number }[];
  },
): Promise<SeriesInfo[]> {
  const series = await stores.series.ensureSeries(
    options.names.map((name) => ({ name, country: 'TR', timezone: 'Europe/Istanbul' })),
  );
  for (const s of series) {
    const rows = generateSyntheticSeries({
      from: options.from,
      to: options.to,
      level: options.level,
      seed: s.id,
    });
    await stores.actuals.upsertActuals(s.id, rows, options.to);
  }
  await stores.weather.upsertWeatherLocations(options.locations);
  return series;
}

import { PostgresWeatherStore } from '../../src/adapters/postgres/weather-store.ts';
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

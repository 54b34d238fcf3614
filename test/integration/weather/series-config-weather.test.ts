import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySeriesConfig } from '../../../src/adapters/postgres/series-config-repository.ts';
import { PostgresWeatherStore } from '../../../src/adapters/postgres/weather-store.ts';
import { ConfigurationError } from '../../../src/core/errors.ts';
import { parseSeriesConfig } from '../../../src/core/series-config.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';

const entry = (weather?: unknown) => ({
  name: 'region',
  country: 'TR',
  timezone: 'Europe/Istanbul',
  ...(weather ? { weather } : {}),
});
const twoCities = {
  locations: [
    { name: 'north-city', latitude: 41.0, longitude: 29.0, weight: 0.7 },
    { name: 'south-city', latitude: 37.0, longitude: 35.3, weight: 0.3 },
  ],
};

describe('series configuration: weather locations and weights', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('refuses weights that do not sum to 1, naming the entry and field', () => {
    const bad = {
      series: [entry({ locations: [{ name: 'north-city', latitude: 41, longitude: 29, weight: 0.6 }] })],
    };
    expect(() => parseSeriesConfig(bad, 'pulse.config.json')).toThrow(ConfigurationError);
    expect(() => parseSeriesConfig(bad, 'pulse.config.json')).toThrow(
      /series\[0\] "region": weather\.locations: location weights must sum to 1/,
    );
  });

  it("applies locations and weights, replaces them on change, removes them with the entry's weather", async () => {
    const store = new PostgresWeatherStore(db.sql);
    await applySeriesConfig(db.sql, parseSeriesConfig({ series: [entry(twoCities)] }, 'pulse.config.json'));
    const [series] = await db.sql<{ id: number }[]>`select id from series where name = 'region'`;
    const read = async () =>
      (await store.seriesWeatherLocations([series!.id])).get(series!.id)?.map((l) => [l.name, l.weight]) ??
      [];
    expect(await read()).toEqual([
      ['north-city', 0.7],
      ['south-city', 0.3],
    ]);
    const moved = { locations: [{ name: 'south-city', latitude: 37.0, longitude: 35.3, weight: 1 }] };
    await applySeriesConfig(db.sql, parseSeriesConfig({ series: [entry(moved)] }, 'pulse.config.json'));
    expect(await read()).toEqual([['south-city', 1]]);
    await applySeriesConfig(db.sql, parseSeriesConfig({ series: [entry()] }, 'pulse.config.json'));
    expect(await read()).toEqual([]);
  });
});

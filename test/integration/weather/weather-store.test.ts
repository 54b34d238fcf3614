import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresWeatherStore } from '../../../src/adapters/postgres/weather-store.ts';
import { importWeather } from '../../../src/cli/commands/import-weather.ts';
import { InputError } from '../../../src/core/errors.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';
import { createWeatherTestDatabase, hourlyTemperatures as temps } from '../../helpers/weather.ts';

const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 10, 0);

describe('weather store: vintages and "as of" reads', () => {
  let db: TestDatabase;
  let store: PostgresWeatherStore;
  beforeAll(async () => {
    ({ db, store } = await createWeatherTestDatabase());
  });
  afterAll(() => db.drop());

  it('rebuilds the forecast as it stood at any issue time; an unchanged value is not stored twice', async () => {
    // Run A issued 06:00 for 07:00…10:00; run B issued 12:00 changes 09:00 and 10:00 only.
    const a = await store.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: T0 + 6 * H,
      values: temps('ankara', T0 + 7 * H, [1, 2, 3, 4]),
    });
    expect(a).toEqual({ inserted: 4, revised: 0, unchanged: 0 });
    const b = await store.writeWeather({
      kind: 'forecast',
      source: 'test',
      issuedAt: T0 + 12 * H,
      values: temps('ankara', T0 + 7 * H, [1, 2, 5, 6]),
    });
    expect(b).toEqual({ inserted: 2, revised: 0, unchanged: 2 });

    const read = async (asOf: number) => [
      ...(
        await store.readWeatherAsOf({
          locations: ['ankara', 'izmir'],
          variable: 'temperature_2m',
          from: T0 + 6 * H,
          to: T0 + 10 * H,
          asOf,
        })
      ).get('ankara')!.values,
    ];
    expect(await read(T0 + 5 * H)).toEqual([NaN, NaN, NaN, NaN, NaN]);
    expect(await read(T0 + 7 * H + 7 * 60_000)).toEqual([NaN, 1, 2, 3, 4]);
    expect(await read(T0 + 12 * H)).toEqual([NaN, 1, 2, 5, 6]);
    // Both fetches are vintages, even though run B stored only two values.
    expect((await store.latestWeatherIssues(['ankara', 'izmir'], T0 + 11 * H)).get('ankara')).toBe(
      T0 + 6 * H,
    );
    expect((await store.latestWeatherIssues(['ankara', 'izmir'], T0 + 13 * H)).get('ankara')).toBe(
      T0 + 12 * H,
    );
    expect((await store.latestWeatherIssues(['ankara', 'izmir'], T0 + 13 * H)).has('izmir')).toBe(false);
  });

  it('stores observed weather at its valid hour; re-importing changes nothing, a changed value is a revision', async () => {
    const obs = temps('izmir', T0, [10.5, 11, 11.5]);
    expect(await store.writeWeather({ kind: 'observed', source: 'test', values: obs })).toEqual({
      inserted: 3,
      revised: 0,
      unchanged: 0,
    });
    expect(await store.writeWeather({ kind: 'observed', source: 'test', values: obs })).toEqual({
      inserted: 0,
      revised: 0,
      unchanged: 3,
    });
    const changed = temps('izmir', T0, [10.5, 12, 11.5]);
    expect(await store.writeWeather({ kind: 'observed', source: 'test', values: changed })).toEqual({
      inserted: 0,
      revised: 1,
      unchanged: 2,
    });
    // Observed hour 01:00 is known from 01:00 on, not before.
    const m = await store.readWeatherAsOf({
      locations: ['izmir'],
      variable: 'temperature_2m',
      from: T0,
      to: T0 + 2 * H,
      asOf: T0 + H,
    });
    expect([...m.get('izmir')!.values]).toEqual([10.5, 12, NaN]);
  });

  it('refuses values of an unknown location without storing any of the batch', async () => {
    await expect(
      store.writeWeather({ kind: 'observed', source: 'test', values: temps('nowhere', T0, [1]) }),
    ).rejects.toThrow(/weather_values_location_fkey/);
  });
});

describe('pulse import-weather', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'pulse-weather-'));
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const weather = join(dir, 'weather.csv');
  writeFileSync(
    weather,
    [
      'ts_utc,ankara_t2m,ankara_rh,izmir_t2m,izmir_cloud',
      '2025-01-01T00:00:00Z,-2.5,80,9.1,20',
      '2025-01-01T01:00:00Z,-3.0,101,8.7,25',
      '2025-01-01T02:00:00Z,-3.4,82,oops,30',
      '2025-01-01T03:30:00Z,-3.4,82,8.0,30',
      '',
    ].join('\n'),
  );
  const locations = join(dir, 'locations.csv');
  writeFileSync(
    locations,
    'location,latitude,longitude,share\nankara,39.93,32.86,2\nizmir,38.42,27.14,1\n'.replace(
      'share',
      'weight',
    ),
  );

  it('needs coordinates for locations it does not know yet', async () => {
    await expect(importWeather(db.sql, weather, {})).rejects.toThrow(InputError);
    await expect(importWeather(db.sql, weather, {})).rejects.toThrow(
      /ankara, izmir not known; pass --locations/,
    );
  });

  it('imports good cells, names the bad ones, and a second import changes nothing', async () => {
    const first = await importWeather(db.sql, weather, { locations });
    expect(first.parsed.problems.map((p) => `${p.line}: ${p.reason}`)).toEqual([
      '5: timestamp "2025-01-01T03:30:00Z" is not on the hour',
      '3: ankara_rh: 101 is outside 0…100',
      '4: izmir_t2m: unparseable value "oops"',
    ]);
    // 3 hours × 4 columns − 2 bad cells.
    expect(first).toMatchObject({ inserted: 10, revised: 0, unchanged: 0, locations: 2 });
    const second = await importWeather(db.sql, weather, { locations });
    expect(second).toMatchObject({ inserted: 0, revised: 0, unchanged: 10 });
    const [row] = await db.sql<{ n: number; observed: boolean; same: boolean }[]>`
      select count(*)::int as n, bool_and(observed) as observed, bool_and(issued_at = valid_hour) as same
      from weather_values`;
    expect(row).toEqual({ n: 10, observed: true, same: true });
  });
});

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelMetadata } from '../../../src/adapters/onnx/metadata.ts';
import { PostgresWeatherStore } from '../../../src/adapters/postgres/weather-store.ts';
import { backtest, type BacktestFlags } from '../../../src/cli/commands/backtest.ts';
import { InputError } from '../../../src/core/errors.ts';
import type { WeatherValue } from '../../../src/core/ports/weather.ts';
import { generateSyntheticSeries } from '../../../src/core/synthetic.ts';
import { HOUR_MS, toIso } from '../../../src/core/time.ts';
import { runPulse } from '../../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.ts';

const MODEL_DIR = join(import.meta.dirname, '../../../model-artifacts');
const VERSION = 'pulse-mlp-turkey-weather-2024';
const H = HOUR_MS;
const at = (iso: string) => Date.parse(iso);

// Twenty days of synthetic load; targets on 16 July (UTC), so origins run from 15 July 00:00 to 16 July 22:00.
const FIRST = at('2025-07-01T00:00:00Z');
const LAST = at('2025-07-20T23:00:00Z');
const FROM = '2025-07-16T00:00:00Z';
const TO = '2025-07-16T23:00:00Z';
const ORIGINS = 47;

describe.runIf(existsSync(join(MODEL_DIR, `${VERSION}.json`)))(
  'pulse backtest of the shipped weather model on stored weather vintages',
  () => {
    const meta = JSON.parse(readFileSync(join(MODEL_DIR, `${VERSION}.json`), 'utf8')) as ModelMetadata;
    const locations = meta.weather!.locations;
    let db: TestDatabase;
    let store: PostgresWeatherStore;
    const dir = mkdtempSync(join(tmpdir(), 'pulse-backtest-weather-'));
    const csv = join(dir, 'load.csv');
    const flags: BacktestFlags = { csv, from: FROM, to: TO, model: VERSION, modelDir: MODEL_DIR };

    /** Every location's temperature over [from, to]: a summer day, plus `offset` K. */
    const temperatures = (from: number, to: number, offset: number): WeatherValue[] =>
      locations.flatMap((l, i) =>
        Array.from({ length: (to - from) / H + 1 }, (_, k) => {
          const hour = from + k * H;
          const local = (hour / H + 3) % 24;
          return {
            location: l.name,
            variable: 'temperature_2m' as const,
            validHour: hour,
            value: 27 + i / 2 + 6 * Math.sin(((local - 9) / 24) * 2 * Math.PI) + offset,
          };
        }),
      );
    const vintage = (issued: string, from: string, to: string, offset: number) =>
      store.writeWeather({
        kind: 'forecast',
        source: 'test',
        issuedAt: at(issued),
        values: temperatures(at(from), at(to), offset),
      });

    beforeAll(async () => {
      db = await createTestDatabase();
      store = new PostgresWeatherStore(db.sql);
      const rows = generateSyntheticSeries({ from: FIRST, to: LAST, seed: 18 });
      writeFileSync(
        csv,
        ['ts_utc,load', ...rows.map((r) => `${toIso(r.hour)},${r.value}`)].join('\n') + '\n',
      );
      await store.upsertWeatherLocations(locations);
    });
    afterAll(() => db.drop());

    it('refuses, naming the locations, when the store holds no weather for them', async () => {
      await expect(backtest(flags, { sql: db.sql })).rejects.toThrow(InputError);
      await expect(backtest(flags, { sql: db.sql })).rejects.toThrow(
        /holds no temperatures for its locations \(model metadata: istanbul, ankara, .*\) between 2025-07-08T00:00:00Z and 2025-07-17T23:00:00Z/,
      );
    });

    it('without vintages scores on observed weather and says so', async () => {
      await store.writeWeather({ kind: 'observed', source: 'test', values: temperatures(FIRST, LAST, 0) });
      const args = ['backtest', '--csv', csv, '--from', FROM, '--to', TO, '--model', VERSION];
      const result = await runPulse([...args, '--model-dir', MODEL_DIR], {
        env: { DATABASE_URL: db.url },
        timeoutMs: 120_000,
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        `weather: 0 origins with the weather forecast held at the origin (stored vintages, issued at or before it); ${ORIGINS} with observed weather where no vintage exists (perfect prognosis: an upper bound)`,
      );
    });

    it('uses the vintage held at each origin, not a later one', async () => {
      // A: issued 14 July, 1 K warmer than observed, covering every origin's 24 hours.
      await vintage('2025-07-14T00:00:00Z', '2025-07-14T00:00:00Z', '2025-07-17T23:00:00Z', 1);
      const withA = await backtest(flags, { sql: db.sql });
      expect(withA.report.weather).toEqual({ vintage: ORIGINS, mixed: 0, observed: 0, missing: 0 });
      expect(withA.report.origins).toBe(ORIGINS);

      // As in service, horizon 1 comes from the calendar-only model (metadata weather.calendarHorizons = 1).
      expect(meta.weather!.calendarHorizons).toBe(1);
      const calendarOnly = await backtest({ ...flags, model: meta.weather!.calendarModel! });
      expect(withA.report.horizons[0]!.model).toEqual(calendarOnly.report.horizons[0]!.model);
      expect(withA.report.horizons[1]!.model.mae).not.toBe(calendarOnly.report.horizons[1]!.model.mae);

      // B: 10 K warmer, issued on 17 July, after the last origin: nothing may change.
      await vintage('2025-07-17T00:00:00Z', '2025-07-14T00:00:00Z', '2025-07-17T23:00:00Z', 10);
      const withLaterB = await backtest(flags, { sql: db.sql });
      expect(withLaterB.summary).toEqual(withA.summary);

      // C: the same 10 K, issued at 15 July 12:00, in the middle of the origins: the later 35 use it.
      await vintage('2025-07-15T12:00:00Z', '2025-07-15T12:00:00Z', '2025-07-17T23:00:00Z', 10);
      const withC = await backtest(flags, { sql: db.sql });
      expect(withC.report.weather).toEqual({ vintage: ORIGINS, mixed: 0, observed: 0, missing: 0 });
      // Horizon 1 is the calendar-only model's: no weather moves it. From horizon 2 on, every forecast from
      // an origin after C sees 10 K instead of 1 K (24 h ahead, 12 of the 24 origins still see A).
      const moved = (h: number) =>
        Math.abs(withC.report.horizons[h - 1]!.model.bias - withA.report.horizons[h - 1]!.model.bias);
      expect(moved(1)).toBe(0);
      expect(moved(2)).toBeGreaterThan(1);
      expect(moved(24)).toBeGreaterThan(1);
      expect(withC.summary).not.toEqual(withA.summary);
    });
  },
);

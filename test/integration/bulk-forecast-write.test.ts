import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCopyBinary } from '../../src/adapters/postgres/copy-binary.ts';
import { COPY_MIN_ORIGINS, insertForecasts } from '../../src/adapters/postgres/prediction-writes.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { seasonalNaive168 } from '../../src/core/baselines.ts';
import { singleForecaster } from '../../src/core/forecasting.ts';
import type { OriginForecast } from '../../src/core/predictions.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runBackfill } from '../../src/core/use-cases/run-backfill.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('the binary COPY encoding', () => {
  it('stores every value exactly as given, nulls and edge cases included', async () => {
    const doubles = [0.1, -0, 1e308, 5e-324, -123456.78901234567, 31234.123046875];
    const rows = {
      id: { type: 'int4', values: [1, -2147483648, 2147483647] },
      big: { type: 'int8', values: [null, 2 ** 53 - 1, -42] },
      label: { type: 'text', values: ['Türkiye ⚡', null, ''] },
      at: {
        type: 'timestamptz',
        values: [Date.UTC(2025, 0, 1, 5), Date.UTC(1999, 11, 31, 23, 59, 59, 123), 0],
      },
      xs: { type: 'float8[]', values: [Float64Array.from(doubles), [1, null, 3], null] },
      empty: { type: 'float8[]', values: [[], [null], [2.5]] },
    } as const;
    await db.sql.begin(async (tx) => {
      await tx`create temporary table t (id int, big bigint, label text, at timestamptz, xs float8[], empty float8[])
               on commit drop`;
      const stream = await tx`copy t from stdin (format binary)`.writable();
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.end(encodeCopyBinary(rows), () => resolve());
      });
      const back = await tx<
        {
          id: number;
          big: string | null;
          label: string | null;
          at_ms: number;
          xs: number[] | null;
          empty: string;
        }[]
      >`select id, big::text as big, label, extract(epoch from at)::float8 * 1000 as at_ms, xs, xs::text as xs_text,
               empty::text as empty
        from t order by id`;
      expect(back.map((r) => r.id)).toEqual([-2147483648, 1, 2147483647]);
      const [min, first, max] = back;
      expect(first).toMatchObject({
        big: null,
        label: 'Türkiye ⚡',
        at_ms: Date.UTC(2025, 0, 1, 5),
        empty: '{}',
      });
      // Object.is tells -0 from 0: the sign of zero survives too.
      first!.xs!.forEach((x, i) => expect(Object.is(x, doubles[i])).toBe(true));
      expect(min).toMatchObject({
        big: String(2 ** 53 - 1),
        label: null,
        xs_text: '{1,NULL,3}',
        empty: '{NULL}',
      });
      expect(min!.at_ms).toBe(Date.UTC(1999, 11, 31, 23, 59, 59, 123));
      expect(max).toMatchObject({ big: '-42', label: '', at_ms: 0, xs: null, empty: '{2.5}' });
    });
  });

  it('refuses a value its column cannot hold, naming the column and the row', () => {
    expect(() =>
      encodeCopyBinary({
        id: { type: 'int4', values: [1, 2] },
        value: {
          type: 'float8[]',
          values: [
            [1, 2],
            [3, Number.NaN],
          ],
        },
      }),
    ).toThrow('column value, row 2: non-finite number NaN at index 1');
    expect(() =>
      encodeCopyBinary({ value: { type: 'float8[]', values: [Float64Array.of(1, Infinity)] } }),
    ).toThrow('column value, row 1: non-finite number Infinity at index 1');
    expect(() => encodeCopyBinary({ id: { type: 'int4', values: [1.5] } })).toThrow(
      'column id, row 1: 1.5 is not a 32-bit integer',
    );
    expect(() =>
      encodeCopyBinary({ id: { type: 'int4', values: [1] }, at: { type: 'timestamptz', values: [] } }),
    ).toThrow('column at has 0 values, id has 1');
  });
});

/** `origins` consecutive forecasts of one series from `first`, 24 horizons, bounds on all but the last. */
function forecasts(seriesId: number, first: number, origins: number, scale = 1): OriginForecast[] {
  return Array.from({ length: origins }, (_, o) => {
    const lastInputHour = first + o * HOUR_MS;
    const missed = o % 97 === 5;
    const values = missed ? null : Array.from({ length: 24 }, (_, i) => scale * (1000 + o + (i + 1) / 7));
    const band = values !== null && o !== origins - 1;
    return {
      seriesId,
      modelVersion: 'bulk-test',
      lastInputHour,
      method: missed ? 'none' : 'bulk-test',
      issuedAt: lastInputHour + HOUR_MS + 7 * 60_000,
      quality: missed ? 'missed' : o % 11 === 0 ? 'fallback' : 'ok',
      reason: missed ? 'missed: test' : o % 11 === 0 ? 'stale-input: test' : null,
      horizons: 24,
      values,
      lower: band ? values.map((v) => v - 10) : null,
      upper: band ? values.map((v) => v + 10) : null,
    };
  });
}

const stored = (sql: TestDatabase['sql'], seriesId: number) => sql`
  select last_input_hour, last_target_hour, method, quality, reason, issued_at, value, lower_bound, upper_bound
  from forecasts where series_id = ${seriesId} and model_version = 'bulk-test' order by last_input_hour`;

describe('writing many forecast origins at once (the COPY path)', () => {
  it('stores the same rows as the one-statement path, keeps existing forecasts and makes missing months', async () => {
    const [a, b] = await createPostgresStores(db.sql).series.ensureSeries([
      { name: 'bulk-a' },
      { name: 'bulk-b' },
    ]);
    // Two and a half months of origins, into months no run has made yet (a backfill into the past).
    const first = Date.UTC(2019, 2, 30, 0);
    const origins = 1_800;
    expect(origins).toBeGreaterThanOrEqual(COPY_MIN_ORIGINS);
    const rows = forecasts(a!.id, first, origins);
    // Every horizon counts: the valued ones, and all of a missed origin's.
    const expected = origins * 24;
    // The COPY first: the months are made when its insert finds none.
    const viaCopy = await insertForecasts(db.sql, rows, 7);
    // The same origins on series b, one statement per 900 (below the COPY threshold).
    let viaInsert = 0;
    const forB = forecasts(b!.id, first, origins);
    for (let i = 0; i < forB.length; i += 900)
      viaInsert += await insertForecasts(db.sql, forB.slice(i, i + 900), 7);
    expect(viaCopy).toBe(viaInsert);
    expect(viaCopy).toBe(expected);
    expect(await stored(db.sql, a!.id)).toEqual(await stored(db.sql, b!.id));
    const [runs] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from forecasts where series_id = ${a!.id} and run_id = 7`;
    expect(runs!.n).toBe(origins);

    // Written again with other values and some new origins: only the new origins are stored.
    const again = forecasts(a!.id, first, origins + 200, 2);
    const before = await stored(db.sql, a!.id);
    const added = await insertForecasts(db.sql, again, 8);
    expect(added).toBe(200 * 24);
    const after = await stored(db.sql, a!.id);
    expect(after.slice(0, origins)).toEqual(before);
    expect(after).toHaveLength(origins + 200);
  });
});

describe('a backfill into months not made yet', () => {
  it('makes them before its first write, so no batch is refused and sent again', async () => {
    const stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([{ name: 'bulk-backfill' }]);
    const from = Date.UTC(2018, 0, 20);
    const to = Date.UTC(2018, 4, 10, 23);
    const rows = generateSyntheticSeries({ from: from - 400 * HOUR_MS, to, seed: 11 });
    await stores.actuals.upsertActuals(series!.id, rows, to + HOUR_MS);
    const months = async () =>
      (
        await db.sql<{ name: string }[]>`
          select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'forecasts'::regclass and c.relname between 'forecasts_p2018_01' and 'forecasts_p2018_05'
          order by 1`
      ).map((r) => r.name);
    expect(await months()).toEqual([]);
    // Every write attempt, with the months that existed when it started.
    const attempts: { origins: number; months: string[] }[] = [];
    const watched = {
      ...stores,
      forecasts: Object.assign(Object.create(stores.forecasts) as typeof stores.forecasts, {
        writeForecasts: async (f: readonly OriginForecast[], runId: number | null) => {
          attempts.push({ origins: f.length, months: await months() });
          return stores.forecasts.writeForecasts(f, runId);
        },
      }),
    };
    const summary = await runBackfill(watched, singleForecaster(seasonalNaive168), {
      from,
      to,
      seriesNames: ['bulk-backfill'],
      trigger: 'test',
      batchOrigins: 1_400,
    });
    const origins = (to - from) / HOUR_MS + 1;
    expect(summary.origins).toBe(origins);
    // Batches of equal size, each large enough for the COPY path, each finding all five months made.
    expect(attempts.map((a) => a.origins)).toEqual([1_332, 1_332]);
    expect(attempts[0]!.origins).toBeGreaterThanOrEqual(COPY_MIN_ORIGINS);
    for (const a of attempts)
      expect(a.months).toEqual(['01', '02', '03', '04', '05'].map((m) => `forecasts_p2018_${m}`));
    expect(summary.forecastsWritten).toBe(origins * 24);
    const [count] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from forecasts where series_id = ${series!.id}`;
    expect(count!.n).toBe(origins);
  });
});

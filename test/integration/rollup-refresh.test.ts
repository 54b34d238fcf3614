import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { seasonalNaive168 } from '../../src/core/baselines.ts';
import { singleForecaster } from '../../src/core/forecasting.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runBackfill } from '../../src/core/use-cases/run-backfill.ts';
import { runEvaluation } from '../../src/core/use-cases/run-evaluation.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const T0 = Date.UTC(2025, 3, 1);
const HOURS = 14 * 24;
const hour = (i: number) => T0 + i * HOUR_MS;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('the hourly rollup refresh', () => {
  it('puts back a metric_rollups row deleted by hand at the next hourly run', async () => {
    const stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([
      { name: 'grid', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    const rows = generateSyntheticSeries({ from: hour(0), to: hour(HOURS + 3), seed: 5 });
    await stores.actuals.upsertActuals(series!.id, rows.slice(0, HOURS), hour(HOURS));
    await runBackfill(stores, singleForecaster(seasonalNaive168), {
      from: hour(HOURS - 48),
      to: hour(HOURS + 3),
      trigger: 'test',
    });
    await runEvaluation(stores, { now: hour(HOURS) + 17 * 60_000, trigger: 'test' });
    const keys = async () =>
      (
        await db.sql<{ k: string }[]>`
          select model_version || '|' || window_name as k from metric_rollups order by 1`
      ).map((r) => r.k);

    // Two hourly runs move the windows (the refresh then knows which rows exist from the last one).
    for (const i of [HOURS, HOURS + 1]) {
      await stores.actuals.upsertActuals(series!.id, [rows[i]!], hour(i + 1));
      await runEvaluation(stores, { now: hour(i + 1) + 17 * 60_000, trigger: 'test' });
    }
    const before = await keys();
    expect(before).toEqual(['seasonal-naive-168h|24h', 'seasonal-naive-168h|30d', 'seasonal-naive-168h|7d']);

    await db.sql`delete from metric_rollups where window_name = '7d'`;
    await stores.actuals.upsertActuals(series!.id, [rows[HOURS + 2]!], hour(HOURS + 3));
    const summary = await runEvaluation(stores, { now: hour(HOURS + 3) + 17 * 60_000, trigger: 'test' });
    expect(await keys()).toEqual(before);
    expect(summary.rollups.map((r) => r.windowName).sort()).toEqual(['24h', '30d', '7d']);
    // The row put back holds the same figures as the windows' sums.
    const [row] = await db.sql<{ n: number; sums_n: number }[]>`
      select m.n, r.n as sums_n from metric_rollups m
      join rolling_sums r using (series_id, model_version, window_name) where m.window_name = '7d'`;
    expect(row!.n).toBe(row!.sums_n);
    expect(row!.n).toBeGreaterThan(24);
  });
});

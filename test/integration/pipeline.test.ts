import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { persistence, seasonalNaive24 } from '../../src/core/baselines.ts';
import { singleForecaster } from '../../src/core/forecasting.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runEvaluation } from '../../src/core/use-cases/run-evaluation.ts';
import { runForecast } from '../../src/core/use-cases/run-forecast.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const T0 = Date.UTC(2025, 0, 1, 0);
const hour = (i: number) => T0 + i * HOUR_MS;

describe('forecast then evaluate on the real database', () => {
  let db: TestDatabase;
  let store: ReturnType<typeof createPostgresStores>;
  let seriesId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = createPostgresStores(db.sql);
    seriesId = (await createPostgresStores(db.sql).series.ensureSeries([{ name: 'grid', country: null }]))[0]!
      .id;
    // 48 hours: value = 1000 + 10·i, so persistence errs by exactly 10·h at horizon h.
    const rows = Array.from({ length: 48 }, (_, i) => ({ hour: hour(i), value: 1000 + 10 * i }));
    await store.actuals.upsertActuals(seriesId, rows, hour(48));
  });
  afterAll(async () => db.drop());

  it('stores 24 persistence forecasts with their true horizons from the newest actual', async () => {
    const asOf = hour(48) + 7 * 60_000; // 00:07 after the last complete hour
    const summary = await runForecast(store, singleForecaster(persistence), { asOf, trigger: 'test' });
    expect(summary.forecastsWritten).toBe(24);
    const rows = await db.sql<{ horizon: number; value: number; target_hour: Date; quality: string }[]>`
      select horizon, value, target_hour, quality from predictions order by horizon`;
    expect(rows.map((r) => r.horizon)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(rows.every((r) => r.value === 1470 && r.quality === 'ok')).toBe(true);
    expect(rows[0]!.target_hour.getTime()).toBe(hour(48));
  });

  it('runs the same event twice without changing what is stored', async () => {
    const asOf = hour(48) + 7 * 60_000;
    const again = await runForecast(store, singleForecaster(persistence), { asOf, trigger: 'test' });
    expect(again.forecastsWritten).toBe(0);
    const [{ count }] = (await db.sql`select count(*)::int as count from predictions`) as unknown as [
      { count: number },
    ];
    expect(count).toBe(24);
  });

  it('scores matured forecasts against hand-computed errors and re-scores a revision', async () => {
    // Actuals for hours 48..50 arrive: 1480, 1490, 1500 → errors of persistence (1470): 10, 20, 30.
    await store.actuals.upsertActuals(
      seriesId,
      [48, 49, 50].map((i) => ({ hour: hour(i), value: 1000 + 10 * i })),
      hour(51),
    );
    const first = await runEvaluation(store, { now: hour(51) + 17 * 60_000, trigger: 'test' });
    expect(first.scored).toBe(3);
    const all = first.rollups.find((r) => r.horizon === 0 && r.windowName === '24h')!;
    expect(all.n).toBe(3);
    // MAPE = mean(10/1480, 20/1490, 30/1500) · 100
    expect(all.mape!).toBeCloseTo(((10 / 1480 + 20 / 1490 + 30 / 1500) / 3) * 100, 10);
    const [rollup] = await db.sql<{ mae: number; rmse: number; bias: number; skill: number }[]>`
      select mae, rmse, bias, skill from metric_rollups where horizon = 0 and window_name = '24h'`;
    expect(rollup!.mae).toBeCloseTo(20, 10);
    expect(rollup!.rmse).toBeCloseTo(Math.sqrt((100 + 400 + 900) / 3), 10);
    expect(rollup!.bias).toBeCloseTo(-20, 10);
    expect(rollup!.skill).toBeCloseTo(0, 10); // the forecasts are persistence: no skill against it

    // Revise hour 49 to 1530: its error becomes 60; nothing else changes.
    const revision = await store.actuals.upsertActuals(seriesId, [{ hour: hour(49), value: 1530 }], hour(52));
    expect(revision).toEqual({ inserted: 0, revised: 1, unchanged: 0 });
    const second = await runEvaluation(store, { now: hour(52), trigger: 'test' });
    expect(second.scored).toBe(0);
    expect(second.rescored).toBe(1);
    const [e] = await db.sql<{ abs_error: number; actual: number }[]>`
      select abs_error, actual from evaluations where target_hour = ${new Date(hour(49))}`;
    expect(e).toEqual({ abs_error: 60, actual: 1530 });
    const [actual] = await db.sql<{ revision_count: number }[]>`
      select revision_count from actuals where hour = ${new Date(hour(49))}`;
    expect(actual!.revision_count).toBe(1);
  });

  it('falls back to a flagged baseline when the window has a gap', async () => {
    await db.sql`delete from actuals where series_id = ${seriesId} and hour = ${new Date(hour(45))}`;
    const asOf = hour(51) + 7 * 60_000;
    const summary = await runForecast(store, singleForecaster(seasonalNaive24), { asOf, trigger: 'test' });
    expect(summary.fallbackSeries).toBe(1);
    const rows = await db.sql<
      { quality: string; reason: string; method: string; value: number; horizon: number }[]
    >`
      select quality, reason, method, value, horizon from predictions
      where model_version = 'seasonal-naive-24h' order by horizon`;
    expect(rows).toHaveLength(24);
    expect(rows[0]!.quality).toBe('fallback');
    expect(rows[0]!.reason).toMatch(/^missing-hours: 1 of 24 window hours missing/);
    expect(rows[0]!.method).toBe('persistence'); // a day back is incomplete too: newest plausible value
    expect(rows[0]!.value).toBe(1500);
  });
});

describe('incremental scoring', () => {
  it('scores a revision whose transaction was still open while the previous evaluation ran', async () => {
    const db = await createTestDatabase();
    try {
      const store = createPostgresStores(db.sql);
      const id = (
        await createPostgresStores(db.sql).series.ensureSeries([{ name: 'late', country: null }])
      )[0]!.id;
      await store.actuals.upsertActuals(
        id,
        Array.from({ length: 30 }, (_, i) => ({ hour: hour(i), value: 1000 + i })),
        0,
      );
      await runForecast(store, singleForecaster(persistence), {
        asOf: hour(28) + 7 * 60_000,
        trigger: 'test',
      }); // origin 27
      await runEvaluation(store, { now: hour(30), trigger: 'test' }); // scores targets 28, 29 (first run: window)

      // A slow ingest revises hour 29 in a transaction that is still open while the next evaluation runs.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const begun = new Promise<void>((resolve) => (started = resolve));
      const slowIngest = db.sql.begin(async (tx) => {
        await createPostgresStores(tx as never).actuals.upsertActuals(
          id,
          [{ hour: hour(29), value: 5000 }],
          1,
        );
        started();
        await held;
      });
      await begun;
      const during = await runEvaluation(store, { now: hour(30) + 17 * 60_000, trigger: 'test' });
      expect(during.rescored).toBe(0); // not committed yet: invisible
      release();
      await slowIngest;
      const after = await runEvaluation(store, { now: hour(31), trigger: 'test' });
      expect(after.rescored).toBe(1);
      const [e] = await db.sql<
        { actual: number }[]
      >`select actual from evaluations where target_hour = ${new Date(hour(29))}`;
      expect(e!.actual).toBe(5000);
    } finally {
      await db.drop();
    }
  });
});

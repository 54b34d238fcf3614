import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStores } from '../../src/adapters/memory/memory-stores.ts';
import { persistence, seasonalNaive168 } from '../../src/core/baselines.ts';
import type { ActualRow } from '../../src/core/csv.ts';
import { singleForecaster } from '../../src/core/forecasting.ts';
import type { SeriesInfo } from '../../src/core/series.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { recordRun } from '../../src/core/use-cases/record-run.ts';
import { runBackfill } from '../../src/core/use-cases/run-backfill.ts';
import { runEvaluation } from '../../src/core/use-cases/run-evaluation.ts';
import { MAX_CATCH_UP_HOURS, runForecast } from '../../src/core/use-cases/run-forecast.ts';

/** A Monday at midnight UTC; actuals are hours 0…399 after it unless a test says otherwise. */
const T0 = Date.UTC(2025, 2, 3, 0);
const hour = (i: number) => T0 + i * HOUR_MS;
const MINUTE = 60_000;

describe('the use cases on the in-memory stores', () => {
  let stores: MemoryStores;
  let grid: SeriesInfo;
  let rows: ActualRow[];

  const load = (series: SeriesInfo, from: number, to: number, seed = 7) =>
    stores.actuals.upsertActuals(
      series.id,
      generateSyntheticSeries({ from: hour(from), to: hour(to), level: 30_000, seed }),
      hour(to + 1),
    );
  const valueAt = (i: number) => rows.find((r) => r.hour === hour(i))!.value;

  beforeEach(async () => {
    stores = new MemoryStores();
    grid = stores.addSeries({ name: 'grid' });
    rows = generateSyntheticSeries({ from: hour(0), to: hour(399), level: 30_000, seed: 7 });
    await stores.actuals.upsertActuals(grid.id, rows, hour(400));
  });

  describe('runForecast', () => {
    it('forecasts 1–24 h past the newest actual, issued at the run, and records the run', async () => {
      const asOf = hour(400) + 7 * MINUTE;
      const summary = await runForecast(stores, singleForecaster(persistence), { asOf, trigger: 'test' });

      expect(summary).toMatchObject({
        seriesCount: 1,
        forecastsWritten: 24,
        okSeries: 1,
        fallbackSeries: 0,
        skippedOrigins: 0,
        failures: [],
      });
      expect(summary.maxStalenessHours).toBeCloseTo(7 / 60, 12);
      const stored = stores.predictionRows();
      expect(stored.map((r) => r.horizon)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect(stored.map((r) => r.targetHour)).toEqual(Array.from({ length: 24 }, (_, i) => hour(400 + i)));
      // Persistence: every horizon repeats the newest actual (hour 399).
      expect(new Set(stored.map((r) => r.value))).toEqual(new Set([valueAt(399)]));
      expect(stored.every((r) => r.issuedAt === asOf && r.lastInputHour === hour(399))).toBe(true);
      expect(stored.every((r) => r.quality === 'ok' && r.runId === summary.runId)).toBe(true);
      expect(stores.runLog).toEqual([
        {
          id: summary.runId,
          functionName: 'forecast',
          trigger: 'test',
          scheduledFor: hour(400),
          finish: expect.objectContaining({
            outcome: 'success',
            seriesCount: 1,
            rowsWritten: 24,
            fallbackCount: 0,
            failedCount: 0,
            error: null,
          }),
        },
      ]);
    });

    it('stores true horizons when actuals are late: two hours late, the coming hour is 3 hours ahead', async () => {
      const asOf = hour(402) + 7 * MINUTE; // newest actual is still hour 399
      const summary = await runForecast(stores, singleForecaster(persistence), { asOf, trigger: 'test' });
      expect(summary.maxStalenessHours).toBeCloseTo(2 + 7 / 60, 12);
      const coming = stores.predictionRows((r) => r.targetHour === hour(402));
      expect(coming.map((r) => r.horizon)).toEqual([3]);
    });

    it('a repeated run changes nothing: the stored forecast is kept', async () => {
      const asOf = hour(400) + 7 * MINUTE;
      await runForecast(stores, singleForecaster(persistence), { asOf, trigger: 'test' });
      const again = await runForecast(stores, singleForecaster(persistence), { asOf, trigger: 'test' });
      expect(again.forecastsWritten).toBe(0);
      expect(stores.predictions.size).toBe(24);
    });
  });

  describe('catch-up after missed runs', () => {
    it("records the origins no run forecast as 'missed' rows issued now, and forecasts the newest one", async () => {
      await runForecast(stores, singleForecaster(persistence), {
        asOf: hour(400) + 7 * MINUTE,
        trigger: 'test',
      });
      await load(grid, 400, 402); // three hours arrive; the runs at 401 and 402 never happened
      const asOf = hour(403) + 7 * MINUTE;
      const summary = await runForecast(stores, singleForecaster(persistence), { asOf, trigger: 'test' });

      expect(summary).toMatchObject({ okSeries: 1, forecastsWritten: 24, skippedOrigins: 2 });
      const missed = stores.predictionRows((r) => r.quality === 'missed');
      expect(missed).toHaveLength(2 * 24);
      expect([...new Set(missed.map((r) => r.lastInputHour))]).toEqual([hour(400), hour(401)]);
      expect(missed.every((r) => r.value === null && r.issuedAt === asOf && r.method === 'none')).toBe(true);
      expect(missed[0]!.reason).toMatch(/^not-forecast: /);
      expect(stores.runLog.at(-1)!.finish!.details).toMatchObject({ skippedOrigins: 2 });
    });

    it(`records at most ${MAX_CATCH_UP_HOURS} skipped origins after a long outage`, async () => {
      await runForecast(stores, singleForecaster(persistence), {
        asOf: hour(400) + 7 * MINUTE,
        trigger: 'test',
      });
      await load(grid, 400, 699);
      const summary = await runForecast(stores, singleForecaster(persistence), {
        asOf: hour(700) + 7 * MINUTE,
        trigger: 'test',
      });
      expect(summary.skippedOrigins).toBe(MAX_CATCH_UP_HOURS);
      const origins = new Set(
        stores.predictionRows((r) => r.quality === 'missed').map((r) => r.lastInputHour),
      );
      expect(Math.min(...origins)).toBe(hour(699 - MAX_CATCH_UP_HOURS));
    });
  });

  describe('fallback', () => {
    it('a window with missing hours gets last week’s same hours, flagged with the reason', async () => {
      for (const i of [390, 391, 392]) stores.actualValues.get(grid.id)!.delete(hour(i));
      const summary = await runForecast(stores, singleForecaster(seasonalNaive168), {
        asOf: hour(400) + 7 * MINUTE,
        trigger: 'test',
      });
      expect(summary).toMatchObject({
        okSeries: 0,
        fallbackSeries: 1,
        fallbackReasons: { 'missing-hours': 1 },
      });
      const stored = stores.predictionRows();
      expect(stored).toHaveLength(24);
      expect(stored.every((r) => r.quality === 'fallback' && r.method === 'seasonal-naive-168h')).toBe(true);
      expect(stored[0]!.reason).toBe('missing-hours: 3 of 168 window hours missing');
      // Target hour 400 gets the actual of hour 400 − 168 = 232; hour 423 that of 255.
      expect(stored[0]!.value).toBe(valueAt(232));
      expect(stored[23]!.value).toBe(valueAt(255));
      expect(stores.runLog[0]!.finish).toMatchObject({ outcome: 'success', fallbackCount: 1 });
    });

    it('a stale window falls back with the age in the reason', async () => {
      await runForecast(stores, singleForecaster(seasonalNaive168), {
        asOf: hour(408) + 7 * MINUTE, // newest actual ended 8 h 7 min before
        trigger: 'test',
      });
      const [first] = stores.predictionRows();
      expect(first!.quality).toBe('fallback');
      expect(first!.reason).toBe('stale: newest actual ended 8.1 h ago (limit 6 h)');
    });

    it("one series that cannot be forecast at all is stored as 'missed'; the others are forecast", async () => {
      // Every value is outside its configured band: neither the model nor a baseline may use any of them.
      const broken = stores.addSeries({ name: 'broken', minPlausible: 1e9, maxPlausible: 2e9 });
      await load(broken, 0, 399, 8);
      const summary = await runForecast(stores, singleForecaster(seasonalNaive168), {
        asOf: hour(400) + 7 * MINUTE,
        trigger: 'test',
      });
      expect(summary).toMatchObject({ seriesCount: 2, okSeries: 1, forecastsWritten: 48 });
      expect(summary.failures).toEqual([
        { seriesName: 'broken', origin: hour(399), reason: expect.stringMatching(/^implausible-value: /) },
      ]);
      const missed = stores.predictionRows((r) => r.seriesId === broken.id);
      expect(missed).toHaveLength(24);
      expect(missed.every((r) => r.quality === 'missed' && r.value === null)).toBe(true);
      expect(stores.runLog[0]!.finish).toMatchObject({ outcome: 'partial', failedCount: 1 });
      expect(stores.runLog[0]!.finish!.error).toMatch(/^broken: implausible-value: /);
    });
  });

  describe('runBackfill', () => {
    it('forecasts every hour of the range from the actuals up to its origin only, issued an hour later', async () => {
      const summary = await runBackfill(stores, singleForecaster(persistence), {
        from: hour(350),
        to: hour(359),
        trigger: 'test',
        batchOrigins: 4, // three batches: the write of one overlaps the forecast of the next
      });
      expect(summary).toMatchObject({
        seriesCount: 1,
        origins: 10,
        forecastsWritten: 240,
        fallbackOrigins: 0,
        failedOrigins: 0,
        failedSeries: [],
      });
      for (let t = 350; t <= 359; t++) {
        const [oneAhead] = stores.predictionRows((r) => r.targetHour === hour(t) && r.horizon === 1);
        expect(oneAhead).toMatchObject({
          value: valueAt(t - 1),
          lastInputHour: hour(t - 1),
          issuedAt: hour(t),
        });
      }
      expect(stores.runLog[0]).toMatchObject({ functionName: 'backfill', scheduledFor: null });
      expect(stores.runLog[0]!.finish).toMatchObject({ outcome: 'success', rowsWritten: 240 });
    });

    it('refuses a range longer than a year without recording a run', async () => {
      await expect(
        runBackfill(stores, singleForecaster(persistence), {
          from: hour(0),
          to: hour(9000),
          trigger: 'test',
        }),
      ).rejects.toThrow(/longer than 8784 hours; split it/);
      expect(stores.runLog).toEqual([]);
    });
  });

  describe('run recording', () => {
    it('a failing run is recorded as failed with its message, and the error reaches the caller', async () => {
      stores.forecasts.writeForecasts = async () => {
        throw new Error('disk full');
      };
      await expect(
        runForecast(stores, singleForecaster(persistence), { asOf: hour(400) + 7 * MINUTE, trigger: 'test' }),
      ).rejects.toThrow('disk full');
      expect(stores.runLog).toHaveLength(1);
      expect(stores.runLog[0]!.finish).toMatchObject({
        outcome: 'failed',
        error: 'disk full',
        rowsWritten: 0,
      });
    });

    it('a finish that fails once is tried again, so no run stays "running"', async () => {
      const finishRun = stores.runs.finishRun;
      let calls = 0;
      const runs = {
        startRun: stores.runs.startRun,
        finishRun: async (...args: Parameters<typeof finishRun>) => {
          if (++calls === 1) throw new Error('connection reset');
          return finishRun(...args);
        },
      };
      await expect(
        recordRun(runs, { functionName: 'ingest', trigger: 'test', scheduledFor: null }, async () => {
          throw new Error('source down');
        }),
      ).rejects.toThrow('source down');
      expect(calls).toBe(2);
      expect(stores.runLog[0]!.finish).toMatchObject({ outcome: 'failed', error: 'source down' });
    });

    it('an evaluation scores what matured and reports the worst rolling MAPE', async () => {
      await runForecast(stores, singleForecaster(persistence), {
        asOf: hour(400) + 7 * MINUTE,
        trigger: 'test',
      });
      await load(grid, 400, 401);
      const summary = await runEvaluation(stores, { now: hour(402) + 17 * MINUTE, trigger: 'test' });
      // Targets 400 and 401 have actuals now; both were forecast as the actual of hour 399.
      expect(summary).toMatchObject({ scored: 2, rescored: 0 });
      const truth = generateSyntheticSeries({ from: hour(400), to: hour(401), level: 30_000, seed: 7 });
      const mape =
        ((Math.abs(valueAt(399) - truth[0]!.value) / truth[0]!.value +
          Math.abs(valueAt(399) - truth[1]!.value) / truth[1]!.value) /
          2) *
        100;
      expect(summary.worstRollingMape24h).toBeCloseTo(mape, 9);
      expect(stores.runLog.at(-1)).toMatchObject({ functionName: 'evaluate', scheduledFor: hour(402) });
      expect(stores.runLog.at(-1)!.finish).toMatchObject({ outcome: 'success', rowsWritten: 2 });
    });
  });
});

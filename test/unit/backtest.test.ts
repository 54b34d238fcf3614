import { describe, expect, it } from 'vitest';
import { formatBacktestTable, runBacktest, summarizeBacktest } from '../../src/core/backtest.ts';
import type {
  Forecaster,
  ForecastResult,
  ForecastWindow,
  SeriesCalendar,
} from '../../src/core/forecaster.ts';
import type { HourlySeries } from '../../src/core/hourly-series.ts';
import { HOUR_MS } from '../../src/core/time.ts';

/**
 * Synthetic series y_t = 1000 + t (one MWh more each hour). Persistence then misses by h at horizon h,
 * seasonal naive by 24 and 168, and a model that predicts newest + h + 2 is 2 MWh too high everywhere.
 */
const START = Date.parse('2025-08-20T00:00:00Z');
const ramp = (n: number): HourlySeries => ({
  start: START,
  values: Float64Array.from({ length: n }, (_, t) => 1000 + t),
});

class OverByTwo implements Forecaster {
  readonly version = 'over-by-two';
  readonly windowHours = 168;
  readonly horizons = 24;
  async forecast(windows: readonly ForecastWindow[]): Promise<ForecastResult[]> {
    return windows.map((w) => {
      const last = w.values[w.values.length - 1]!;
      const values = Float64Array.from({ length: 24 }, (_, i) => last + i + 1 + 2);
      // Even origins: interval [ŷ − 3, ŷ − 1] holds the actual (ŷ − 2); odd origins: [ŷ, ŷ + 1] misses.
      const even = Math.round(w.origin / HOUR_MS) % 2 === 0;
      const lower = values.map((v) => (even ? v - 3 : v));
      const upper = values.map((v) => (even ? v - 1 : v + 1));
      return { values, lower, upper };
    });
  }
}

const NONE: SeriesCalendar = { country: null, timezone: 'UTC' };

describe('runBacktest', () => {
  it('scores the model and the baselines on the same pairs', async () => {
    const series = ramp(400);
    const from = START + 300 * HOUR_MS;
    const to = START + 349 * HOUR_MS;
    const report = await runBacktest(series, {
      forecaster: new OverByTwo(),
      calendar: NONE,
      from,
      to,
      batchSize: 7,
    });
    expect(report.origins).toBe(50 + 23); // origins 276 … 348
    const h1 = report.horizons[0]!;
    expect(h1.model).toMatchObject({ n: 50, mae: 2, rmse: 2, bias: 2 });
    let pct = 0;
    for (let t = 300; t <= 349; t++) pct += 2 / (1000 + t);
    expect(h1.model.mape).toBeCloseTo((pct / 50) * 100, 10);
    expect(h1.persistence).toMatchObject({ mae: 1, bias: -1 });
    expect(h1.seasonalNaive24).toMatchObject({ mae: 24, bias: -24 });
    expect(h1.seasonalNaive168).toMatchObject({ mae: 168, bias: -168 });
    expect(h1.skillVsPersistence).toBe(-1); // 1 − 2/1
    const h4 = report.horizons[3]!;
    expect(h4.persistence.mae).toBe(4);
    expect(h4.skillVsPersistence).toBe(0.5);
    expect(h4.skillVsSeasonalNaive24).toBeCloseTo(1 - 2 / 24, 12);
    const h24 = report.horizons[23]!;
    expect(h24.model.n).toBe(50);
    expect(h24.persistence.mae).toBe(24);
    // Seasonal naive 24 h predicts y_{t+h−24}: 24 too low at every horizon.
    expect(h24.seasonalNaive24.mae).toBe(24);
    for (const h of report.horizons) expect(h.coverage).toBe(0.5);
    expect(h1.meanIntervalWidth).toBe(1.5);
    expect(report.overall.model).toMatchObject({ n: 50 * 24, mae: 2 });
    expect(h1.byDayGroup.ordinary.n).toBe(50);
    expect(h1.byDayGroup.holiday.n).toBe(0);
  });

  it('splits holiday, bridge and ordinary hours in the series’ local calendar', async () => {
    // Targets: local Saturday 30 August 2025 (Zafer Bayramı) and Sunday 31 August.
    const series = ramp(24 * 14);
    const from = Date.parse('2025-08-29T21:00:00Z');
    const to = Date.parse('2025-08-31T20:00:00Z');
    const report = await runBacktest(series, {
      forecaster: new OverByTwo(),
      calendar: { country: 'TR', timezone: 'Europe/Istanbul' },
      from,
      to,
    });
    for (const h of report.horizons) {
      expect(h.byDayGroup.holiday.n).toBe(24);
      expect(h.byDayGroup.ordinary.n).toBe(24);
      expect(h.byDayGroup.bridge.n).toBe(0);
      expect(h.byDayGroup.holiday.mae).toBe(2);
    }
    const summary = summarizeBacktest(report);
    expect(summary.h1).toMatchObject({
      n: 48,
      mae: 2,
      holidayHours: 24,
      persistenceMae: 1,
      maeRatioVsPersistence: 0.5,
    });
    expect(summary.perHorizon).toHaveLength(24);
    expect(formatBacktestTable(report, [1, 24]).split('\n')).toHaveLength(3);
  });

  it('skips missing targets and origins whose window has a gap', async () => {
    const series = ramp(400);
    series.values[320] = NaN;
    const from = START + 300 * HOUR_MS;
    const to = START + 349 * HOUR_MS;
    const report = await runBacktest(series, { forecaster: new OverByTwo(), calendar: NONE, from, to });
    // Target 320 is missing (49 pairs at h = 1), and origins 320 … 348 lack a complete window: the
    // h = 1 pairs left are origins 299 … 318 (targets 300 … 319).
    expect(report.horizons[0]!.model.n).toBe(20);
    expect(report.horizons[0]!.persistence.n).toBe(20);
  });
});

import { describe, expect, it } from 'vitest';
import { actualsAsOf, isRetrainingMinute } from '../../src/adapters/training/retraining-cycle.ts';
import { dayOfIso } from '../../src/core/calendar/localTime.ts';
import { hourAt } from '../../src/core/hourly-series.ts';
import type { SeriesInfo } from '../../src/core/series.ts';
import { decidePromotion, DEFAULT_PROMOTION_POLICY } from '../../src/core/model-selection.ts';
import type { ModelFigures } from '../../src/core/ports/model-registry.ts';

const base: ModelFigures = {
  from: '2025-03-01T00:00:00.000Z',
  to: '2025-04-25T23:00:00.000Z',
  origins: 1344,
  maeH1: 200,
  maeH24: 600,
  mapeH1: 0.5,
  mapeH24: 1.5,
  holidayMaeH1: 300,
  holidayHours: 48,
  coverage: 0.8,
  persistenceMaeH1: 1200,
};
const passed = { parityOk: true, contractOk: true };

describe('decidePromotion', () => {
  it('promotes a challenger better by the margin at 1 h and 24 h, no worse on holidays and coverage', () => {
    const d = decidePromotion({ ...base, maeH1: 190, maeH24: 580, holidayMaeH1: 290 }, base, passed);
    expect(d.promoted).toBe(true);
    expect(d.reason).toMatch(/1 h MAE 190.0 vs 200.0, 24 h MAE 580.0 vs 600.0/);
  });

  it('keeps the champion when one horizon is not better by the margin (2 %)', () => {
    // 1 h is 1.5 % better only: below the margin.
    const d = decidePromotion({ ...base, maeH1: 197, maeH24: 500 }, base, passed);
    expect(d).toEqual({
      promoted: false,
      reason: 'kept the champion: 1 h MAE 197.0 vs champion 200.0 (needs ≤ 196.0)',
    });
  });

  it('keeps the champion when holiday hours or coverage get worse', () => {
    const holiday = decidePromotion({ ...base, maeH1: 150, maeH24: 500, holidayMaeH1: 301 }, base, passed);
    expect(holiday.promoted).toBe(false);
    expect(holiday.reason).toContain('holiday 1 h MAE 301.0 vs champion 300.0');
    const coverage = decidePromotion({ ...base, maeH1: 150, maeH24: 500, coverage: 0.77 }, base, passed);
    expect(coverage.promoted).toBe(false);
    expect(coverage.reason).toContain('coverage 77.0 % vs champion 80.0 %');
    // Within the 1-point tolerance: promoted.
    expect(
      decidePromotion({ ...base, maeH1: 150, maeH24: 500, coverage: 0.795 }, base, passed).promoted,
    ).toBe(true);
  });

  it('never promotes a challenger that failed parity or the contract, however good its figures', () => {
    const great = { ...base, maeH1: 10, maeH24: 10, holidayMaeH1: 10 };
    expect(
      decidePromotion(great, base, { parityOk: false, contractOk: true, problem: 'off by 3 MWh' }),
    ).toEqual({
      promoted: false,
      reason: 'ONNX parity failed: off by 3 MWh',
    });
    expect(decidePromotion(great, null, { parityOk: true, contractOk: false }).promoted).toBe(false);
  });

  it('promotes the first model of a series, unless the back-test period is too short to trust', () => {
    expect(decidePromotion(base, null, passed).promoted).toBe(true);
    const short = decidePromotion({ ...base, origins: 100 }, null, passed);
    expect(short).toEqual({
      promoted: false,
      reason: `only 100 origins in the back-test period (need ${DEFAULT_PROMOTION_POLICY.minOrigins})`,
    });
  });
});

describe('isRetrainingMinute', () => {
  it('is true once a month, at the scheduled UTC minute of the chosen day', () => {
    expect(isRetrainingMinute(Date.UTC(2026, 0, 1, 3, 37))).toBe(true);
    expect(isRetrainingMinute(Date.UTC(2026, 0, 1, 3, 38))).toBe(false);
    expect(isRetrainingMinute(Date.UTC(2026, 0, 2, 3, 37))).toBe(false);
    expect(isRetrainingMinute(Date.UTC(2026, 0, 15, 3, 37), 15)).toBe(true);
  });
});

describe('actualsAsOf (pulse retrain --as-of)', () => {
  const series: SeriesInfo = {
    id: 1,
    name: 'tr',
    unit: 'MWh',
    country: 'TR',
    timezone: 'Europe/Istanbul',
    modelVersion: null,
    minPlausible: null,
    maxPlausible: null,
  };
  // 2025-01-01T00:00Z … 2025-03-01T23:00Z, the value of each hour is its index.
  const start = Date.UTC(2025, 0, 1);
  const actuals = { start, values: Float64Array.from({ length: 60 * 24 }, (_, i) => i) };

  it('keeps the actuals up to the end of the local day (UTC+3: 31 January 23:00 local = 20:00 UTC)', () => {
    const cut = actualsAsOf(series, actuals, dayOfIso('2025-01-31'));
    expect(cut.start).toBe(start);
    expect(cut.values.length).toBe(30 * 24 + 21);
    expect(hourAt(cut, cut.values.length - 1)).toBe(Date.UTC(2025, 0, 31, 20));
    expect(cut.values[cut.values.length - 1]).toBe(30 * 24 + 20);
  });

  it('leaves the actuals whole without a date or for a date after the newest, and refuses one before the first', () => {
    expect(actualsAsOf(series, actuals, undefined)).toBe(actuals);
    expect(actualsAsOf(series, actuals, dayOfIso('2025-06-30'))).toBe(actuals);
    expect(() => actualsAsOf(series, actuals, dayOfIso('2024-12-30'))).toThrow(
      'tr has no actuals up to 2024-12-30',
    );
  });
});

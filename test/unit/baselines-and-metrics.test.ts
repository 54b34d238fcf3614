import { describe, expect, it } from 'vitest';
import { persistence, seasonalNaive, seasonalNaive24 } from '../../src/core/baselines.ts';
import { skillScore, summarizeErrors } from '../../src/core/metrics.ts';
import { fallbackForecast } from '../../src/core/forecasting.ts';
import type { SeriesInfo } from '../../src/core/series.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { checkWindow } from '../../src/core/validation.ts';

const series: SeriesInfo = {
  id: 1,
  name: 's',
  unit: 'MWh',
  timezone: 'UTC',
  country: null,
  modelVersion: null,
  minPlausible: null,
  maxPlausible: null,
};

describe('baselines', () => {
  it('persistence repeats the newest value; seasonal naive repeats the last season', async () => {
    const values = Float64Array.from({ length: 48 }, (_, i) => i);
    const [p] = await persistence.forecast([{ seriesId: 1, calendar: series, origin: 0, values }]);
    expect([...p!.values.slice(0, 3)]).toEqual([47, 47, 47]);
    const [s] = await seasonalNaive24.forecast([{ seriesId: 1, calendar: series, origin: 0, values }]);
    expect([...s!.values]).toEqual(Array.from({ length: 24 }, (_, i) => 24 + i));
    expect([...seasonalNaive([1, 2, 3], 2, 5)]).toEqual([2, 3, 2, 3, 2]);
  });
});

describe('metrics', () => {
  it('matches hand-computed MAE, RMSE, MAPE and bias', () => {
    // errors: +10, −20, +30 on actuals 100, 200, 300
    const s = summarizeErrors([110, 180, 330], [100, 200, 300]);
    expect(s.n).toBe(3);
    expect(s.mae).toBeCloseTo(20, 12);
    expect(s.rmse).toBeCloseTo(Math.sqrt(1400 / 3), 12);
    expect(s.mape).toBeCloseTo(((0.1 + 0.1 + 0.1) / 3) * 100, 12);
    expect(s.bias).toBeCloseTo(20 / 3, 12);
    expect(skillScore(20, 80)).toBe(0.75);
  });
});

describe('window checks', () => {
  const origin = 100 * HOUR_MS;
  const ok = Float64Array.from({ length: 48 }, (_, i) => 1000 + 100 * Math.sin(i / 3));

  it('trusts a complete, fresh, plausible, moving window', () => {
    expect(checkWindow(ok, series, origin, origin + HOUR_MS + 7 * 60_000)).toBeNull();
  });

  it('names the failed check', () => {
    const gap = Float64Array.from(ok);
    gap[10] = NaN;
    expect(checkWindow(gap, series, origin, origin + HOUR_MS)?.reason).toBe('missing-hours');
    expect(checkWindow(ok, series, origin, origin + 8 * HOUR_MS)?.detail).toBe(
      'newest actual ended 7.0 h ago (limit 6 h)',
    );
    const spike = Float64Array.from(ok);
    spike[40] = 10_000;
    expect(checkWindow(spike, series, origin, origin + HOUR_MS)?.reason).toBe('implausible-value');
    const flat = Float64Array.from(ok).fill(1000, 42);
    expect(checkWindow(flat, series, origin, origin + HOUR_MS)?.detail).toBe(
      'the newest 6 values are all 1000',
    );
    const band = { ...series, minPlausible: 0, maxPlausible: 1050 };
    expect(checkWindow(ok, band, origin, origin + HOUR_MS)?.reason).toBe('implausible-value');
  });

  it('falls back to last week, then yesterday, then the newest plausible value', () => {
    const start = 0;
    const twoWeeks = Float64Array.from({ length: 336 }, (_, i) => 1000 + (i % 24));
    const history = { series, start, values: twoWeeks };
    expect(fallbackForecast(history, 335 * HOUR_MS, 24)?.method).toBe('seasonal-naive-168h');
    const short = { series, start, values: twoWeeks.slice(0, 30) };
    expect(fallbackForecast(short, 29 * HOUR_MS, 24)).toMatchObject({ method: 'seasonal-naive-24h' });
    const tiny = { series, start, values: Float64Array.of(1000, NaN, 1005, 99_999) };
    const p = fallbackForecast(tiny, 3 * HOUR_MS, 3)!;
    expect(p.method).toBe('persistence');
    expect([...p.values]).toEqual([1005, 1005, 1005]); // the spike is not repeated
    expect(fallbackForecast({ series, start, values: Float64Array.of(NaN) }, 0, 3)).toBeNull();
  });
});

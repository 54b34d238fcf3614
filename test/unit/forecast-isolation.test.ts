import { describe, expect, it } from 'vitest';
import { persistence } from '../../src/core/baselines.ts';
import { RowsRejectedError } from '../../src/core/errors.ts';
import type { Forecaster, ForecastWindow } from '../../src/core/forecaster.ts';
import { forecastOrigins, type ForecastOrigin } from '../../src/core/forecasting.ts';
import type { OriginForecast } from '../../src/core/predictions.ts';
import type { SeriesHistory, SeriesInfo } from '../../src/core/series.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { writeIsolated } from '../../src/core/use-cases/write-isolated.ts';

const START = Date.UTC(2025, 0, 6);
const HOURS = 400;

function history(id: number, calendar: Partial<SeriesInfo> = {}): SeriesHistory {
  const values = new Float64Array(HOURS);
  for (let i = 0; i < HOURS; i++) values[i] = 1000 + 100 * Math.sin((2 * Math.PI * i) / 24) + id;
  const series: SeriesInfo = {
    id,
    name: `s${id}`,
    unit: 'MWh',
    timezone: 'Europe/Istanbul',
    country: 'TR',
    modelVersion: null,
    minPlausible: null,
    maxPlausible: null,
    ...calendar,
  };
  return { series, start: START, values };
}

const originOf = (h: SeriesHistory): ForecastOrigin => {
  const origin = h.start + (HOURS - 1) * HOUR_MS;
  return { history: h, origin, issuedAt: origin + HOUR_MS };
};

/** A model that fails any batch holding a window of `badSeries`, the way a bad zone fails the feature builder. */
function fragileModel(badSeries: Set<number>, calls: { n: number }): Forecaster {
  return {
    version: 'fragile',
    windowHours: 168,
    horizons: 24,
    async forecast(windows: readonly ForecastWindow[]) {
      calls.n++;
      const bad = windows.find((w) => badSeries.has(w.seriesId));
      if (bad) throw new RangeError(`Invalid time zone specified: zone of ${bad.seriesId}`);
      return persistence.forecast(windows);
    },
  };
}

const qualityBySeries = (forecasts: OriginForecast[]) => {
  const out: Record<number, string> = {};
  for (const f of forecasts) out[f.seriesId] = f.quality;
  return out;
};

// Issue 15, defect 2: one series' invalid zone made the whole batch throw, and every series got a fallback.
describe('forecastOrigins isolates failures per series', () => {
  it('gives the model forecast to every series but the one whose window makes the model throw', async () => {
    const calls = { n: 0 };
    const histories = [1, 2, 3, 4, 5, 6, 7].map((id) => history(id));
    const outcome = await forecastOrigins(histories.map(originOf), {
      forecasterFor: () => fragileModel(new Set([5]), calls),
    });
    expect(qualityBySeries(outcome.forecasts)).toEqual({
      1: 'ok',
      2: 'ok',
      3: 'ok',
      4: 'ok',
      5: 'fallback',
      6: 'ok',
      7: 'ok',
    });
    expect(outcome.forecasts.find((f) => f.seriesId === 5)!.reason).toMatch(
      /^model-error: Invalid time zone specified/,
    );
    expect(outcome.okOrigins).toBe(6);
  });

  it('keeps a series with an invalid zone or country out of the batch (invalid-calendar fallback)', async () => {
    const calls = { n: 0 };
    const seen = new Set<number>();
    const model: Forecaster = {
      ...fragileModel(new Set(), calls),
      async forecast(windows) {
        for (const w of windows) seen.add(w.seriesId);
        return persistence.forecast(windows);
      },
    };
    const histories = [
      history(1),
      history(2, { timezone: 'Mars/Olympus' }),
      history(3, { country: 'ZZ' }),
      history(4, { country: 'US', timezone: 'America/New_York' }),
    ];
    const outcome = await forecastOrigins(histories.map(originOf), { forecasterFor: () => model });
    expect(qualityBySeries(outcome.forecasts)).toEqual({ 1: 'ok', 2: 'fallback', 3: 'fallback', 4: 'ok' });
    expect([...seen].sort()).toEqual([1, 4]);
    const reasons = outcome.forecasts.filter((f) => f.quality === 'fallback').map((f) => f.reason);
    expect(reasons).toEqual([
      expect.stringMatching(/^invalid-calendar: time zone "Mars\/Olympus" is not an IANA zone/),
      expect.stringMatching(/^invalid-calendar: country "ZZ" has no holiday calendar/),
    ]);
  });

  it('does not retry window by window when the model itself is broken (3 calls for 64 series)', async () => {
    const calls = { n: 0 };
    const broken: Forecaster = {
      ...fragileModel(new Set(), calls),
      async forecast() {
        calls.n++;
        throw new Error('model file is corrupt');
      },
    };
    const histories = Array.from({ length: 64 }, (_, i) => history(i + 1));
    const outcome = await forecastOrigins(histories.map(originOf), { forecasterFor: () => broken });
    expect(outcome.fallbackOrigins).toBe(64);
    expect(calls.n).toBe(3);
  });
});

describe('writeIsolated', () => {
  const forecast = (seriesId: number, origin: number): OriginForecast => ({
    seriesId,
    modelVersion: 'm',
    lastInputHour: origin,
    method: 'm',
    issuedAt: origin + HOUR_MS,
    quality: 'ok',
    reason: null,
    horizons: 2,
    values: [1, 2],
    lower: null,
    upper: null,
  });
  const names = new Map([
    [1, 'good'],
    [2, 'bad'],
  ]);

  it("stores every other series' forecasts when one series' forecasts are refused", async () => {
    const stored: OriginForecast[] = [];
    const store = {
      async writeForecasts(forecasts: readonly OriginForecast[]) {
        if (forecasts.some((f) => f.seriesId === 2)) throw new RowsRejectedError('value out of range');
        stored.push(...forecasts);
        return forecasts.length * 2;
      },
    };
    const result = await writeIsolated(
      store,
      [forecast(1, START), forecast(2, START), forecast(1, START + HOUR_MS)],
      7,
      names,
    );
    expect(result.written).toBe(4);
    expect(stored.map((r) => r.seriesId)).toEqual([1, 1]);
    expect(result.failures).toEqual([
      { seriesName: 'bad', origin: START, reason: 'write-error: value out of range' },
    ]);
  });

  it('rethrows a failure that is not about the rows (the database is down) without retrying', async () => {
    const store = {
      async writeForecasts(): Promise<number> {
        throw new Error('connection refused');
      },
    };
    await expect(writeIsolated(store, [forecast(1, START), forecast(2, START)], 7, names)).rejects.toThrow(
      'connection refused',
    );
  });
});

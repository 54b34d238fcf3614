import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/core/backtest.ts';
import type { Forecaster, ForecastResult, ForecastWindow } from '../../src/core/forecaster.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { WeatherHistory, type WeatherHistoryRow } from '../../src/core/weather-history.ts';

const H = HOUR_MS;
const S = Date.parse('2025-06-01T00:00:00Z');

/** Hours [from, to) of one location: observed, or a forecast vintage issued at `issued`. */
function rows(
  location: string,
  from: number,
  to: number,
  value: number,
  issued?: number,
): WeatherHistoryRow[] {
  return Array.from({ length: to - from }, (_, k) => ({
    location,
    validHour: S + (from + k) * H,
    issuedAt: issued === undefined ? S + (from + k) * H : S + issued * H,
    observed: issued === undefined,
    value,
  }));
}

const A = [{ name: 'a', weight: 1 }];

describe('WeatherHistory.windowAt (the store\'s "as of" read, in memory)', () => {
  // Observed 20 °C everywhere; vintage 1 issued at hour 200 says 21, vintage 2 issued at hour 210 says 25.
  const history = new WeatherHistory(S, S + 499 * H, [
    ...rows('a', 0, 500, 20),
    ...rows('a', 200, 260, 21, 200),
    ...rows('a', 205, 260, 25, 210),
  ]);
  const at = (origin: number) => history.windowAt(A, S + origin * H);
  const targets = (origin: number) => [...at(origin).locations[0]!.temperature.slice(169)];

  it('gives the target hours the newest vintage issued at or before the origin, never a later one', () => {
    expect(targets(209)).toEqual(Array(24).fill(21));
    expect(at(209).provenance).toBe('vintage');
    expect(targets(210)).toEqual(Array(24).fill(25));
  });

  it('reads past hours as the store does: observed from its hour on, a forecast issued after the hour wins', () => {
    const t = at(215).locations[0]!.temperature;
    // Hour 204: observed (vintage 1 was issued before it). Hours 205…209: vintage 2, issued at 210, after them.
    expect(t[168 - 11]).toBe(20);
    expect([...t.slice(168 - 10, 168 - 5)]).toEqual([25, 25, 25, 25, 25]);
    // Hours 210…215: vintage 2 issued at 210 ties with (210) or precedes the observed value: observed.
    expect([...t.slice(168 - 5, 169)]).toEqual([20, 20, 20, 20, 20, 20]);
  });

  it('falls back to observed weather where no vintage covers a target hour, and says so', () => {
    expect(at(190).provenance).toBe('observed');
    expect(targets(190)).toEqual(Array(24).fill(20));
    // Vintage 2 ends at hour 259: from origin 236 on, the last target hours are observed.
    expect(at(240).provenance).toBe('mixed');
    expect(targets(240)).toEqual([...Array(19).fill(25), ...Array(5).fill(20)]);
    // No value for hours before the history: the window's weather is masked.
    expect(at(100).provenance).toBe('missing');
    expect(Number.isNaN(at(100).locations[0]!.temperature[0]!)).toBe(true);
    expect(history.windowAt([{ name: 'b', weight: 1 }], S + 300 * H).provenance).toBe('missing');
  });
});

/** A tiny weather model: load = 1000 + 10 × the weighted target-hour temperature. */
class TenPerDegree implements Forecaster {
  readonly version = 'ten-per-degree';
  readonly windowHours = 168;
  readonly horizons = 24;
  constructor(readonly weather: { calendarFallback: Forecaster | null } = { calendarFallback: null }) {}
  async forecast(windows: readonly ForecastWindow[]): Promise<ForecastResult[]> {
    return windows.map((w) => {
      const { locations, originIndex } = w.weather!;
      const values = Float64Array.from({ length: 24 }, (_, i) => {
        let t = 0;
        for (const l of locations) t += l.weight * l.temperature[originIndex + i + 1]!;
        return 1000 + 10 * t;
      });
      return { values };
    });
  }
}

describe('runBacktest with stored weather vintages', () => {
  // Actual load follows the observed 20 °C: 1,200 MWh every hour.
  const series = { start: S, values: new Float64Array(400).fill(1200) };
  const from = S + 300 * H;
  const to = S + 349 * H;
  const backtestOn = (history: WeatherHistory, forecaster: Forecaster = new TenPerDegree()) =>
    runBacktest(series, {
      forecaster,
      calendar: { country: null, timezone: 'UTC' },
      from,
      to,
      weatherFor: (origin) => history.windowAt(A, origin),
    });

  it('scores each origin with the vintage held at it: 21 °C before hour 310 (10 MWh off), 25 °C from it (50 MWh off)', async () => {
    const history = new WeatherHistory(S, S + 499 * H, [
      ...rows('a', 0, 500, 20),
      ...rows('a', 200, 500, 21, 200),
      ...rows('a', 310, 500, 25, 310),
    ]);
    const report = await backtestOn(history);
    // 1 h ahead: targets 300…349 come from origins 299…348; 11 origins before 310, 39 from it.
    expect(report.horizons[0]!.model.n).toBe(50);
    expect(report.horizons[0]!.model.mae).toBeCloseTo((11 * 10 + 39 * 50) / 50, 9);
    // 24 h ahead: origins 276…325; 34 before 310.
    expect(report.horizons[23]!.model.mae).toBeCloseTo((34 * 10 + 16 * 50) / 50, 9);
    expect(report.weather).toEqual({ vintage: 73, mixed: 0, observed: 0, missing: 0 });
  });

  it('without vintages scores on observed weather (perfect prognosis) and counts those origins', async () => {
    const history = new WeatherHistory(S, S + 499 * H, rows('a', 0, 500, 20));
    const report = await backtestOn(history);
    expect(report.overall.model.mae).toBe(0);
    expect(report.weather).toEqual({ vintage: 0, mixed: 0, observed: 73, missing: 0 });
  });

  it('forecasts an origin without complete weather by the calendar-only model, as the forecast run does', async () => {
    // Observed weather from hour 120 on: origins before 288 lack their 168 h of past weather.
    const history = new WeatherHistory(S, S + 499 * H, rows('a', 120, 500, 20));
    const calendarOnly: Forecaster = {
      version: 'calendar-only',
      windowHours: 168,
      horizons: 24,
      forecast: async (windows) => windows.map(() => ({ values: new Float64Array(24).fill(1300) })),
    };
    const report = await backtestOn(history, new TenPerDegree({ calendarFallback: calendarOnly }));
    expect(report.weather).toEqual({ vintage: 0, mixed: 0, observed: 61, missing: 12 });
    // 1 h ahead: origins 299…348, all with weather (perfect prognosis, 0 MWh off).
    expect(report.horizons[0]!.model.mae).toBe(0);
    // 24 h ahead: origins 276…325, of which 276…287 (12) forecast 1,300 by the calendar-only model.
    expect(report.horizons[23]!.model.mae).toBeCloseTo((12 * 100) / 50, 9);
  });
});

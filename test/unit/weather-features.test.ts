import { describe, expect, it } from 'vitest';
import { buildFeatures, WEATHER_FEATURES, weatherFeatureNames } from '../../src/core/features.ts';
import type { ForecastWindow } from '../../src/core/forecaster.ts';
import {
  DEFAULT_FORECAST_ERROR,
  forecastErrorSigma,
  forecastLikeErrors,
  gaussianSource,
  WEATHER_SPAN_HOURS,
  type WindowWeather,
} from '../../src/core/weather.ts';

const origin = Date.UTC(2025, 6, 15, 9);

function window(weather?: WindowWeather): ForecastWindow {
  return {
    seriesId: 1,
    calendar: { country: 'TR', timezone: 'Europe/Istanbul' },
    origin,
    values: new Float64Array(336).fill(30_000),
    ...(weather ? { weather } : {}),
  };
}

/** Location temperature = base + hour offset from origin / 10, so lags are recognisable. */
function ramp(base: number): Float32Array {
  return Float32Array.from({ length: WEATHER_SPAN_HOURS }, (_, k) => base + (k - 168) / 10);
}

describe('weather features', () => {
  const names = weatherFeatureNames();
  const col = (name: string) => names.indexOf(name);

  it('weights temperatures and takes degree-hours per location before weighting', () => {
    const weather: WindowWeather = {
      originIndex: 168,
      locations: [
        { weight: 0.5, temperature: ramp(10) },
        { weight: 0.5, temperature: ramp(30) },
      ],
    };
    const f = buildFeatures([window(weather)], { windowHours: 336, horizons: 24, weather: true });
    const w = f.weather!;
    expect(w.length).toBe(WEATHER_FEATURES);
    expect(names.length).toBe(WEATHER_FEATURES);
    expect(w[col('weather_available')]).toBe(1);
    // h = 1: 10.1 and 30.1 °C → mean 20.1; heating 0.5·(18 − 10.1); cooling 0.5·(30.1 − 22).
    expect(w[col('t1_temperature')]).toBeCloseTo(20.1, 5);
    expect(w[col('t1_heating_degrees')]).toBeCloseTo(3.95, 5);
    expect(w[col('t1_cooling_degrees')]).toBeCloseTo(4.05, 5);
    // Lags: target 24 − 24 = origin (offset 0), target 24 − 168 = origin − 144 h.
    expect(w[col('t24_minus_24h_temperature')]).toBeCloseTo(20, 5);
    expect(w[col('t24_minus_168h_temperature')]).toBeCloseTo(20 - 14.4, 4);
  });

  it('adds the forecast error to the target hours only', () => {
    const error = new Float32Array(24).fill(0);
    error[0] = 2;
    error[23] = -1;
    const weather: WindowWeather = {
      originIndex: 168,
      locations: [{ weight: 1, temperature: ramp(15) }],
      forecastError: error,
    };
    const w = buildFeatures([window(weather)], { windowHours: 336, horizons: 24, weather: true }).weather!;
    expect(w[col('t1_temperature')]).toBeCloseTo(15.1 + 2, 5);
    expect(w[col('t1_heating_degrees')]).toBeCloseTo(18 - 17.1, 5);
    expect(w[col('t24_temperature')]).toBeCloseTo(17.4 - 1, 5);
    expect(w[col('t24_minus_24h_temperature')]).toBeCloseTo(15, 5);
  });

  it('masks a window (all zero) when any hour it needs is unknown, or it has no weather', () => {
    const gap = ramp(15);
    gap[100] = NaN;
    const f = buildFeatures(
      [window({ originIndex: 168, locations: [{ weight: 1, temperature: gap }] }), window()],
      { windowHours: 336, horizons: 24, weather: true },
    );
    expect(f.weather!.every((v) => v === 0)).toBe(true);
    // Calendar-only callers get no weather tensor at all.
    expect(buildFeatures([window()], { windowHours: 336, horizons: 24 }).weather).toBeUndefined();
  });
});

describe('forecast-like temperature error', () => {
  it('grows with lead time as stated and is reproducible by seed', () => {
    const gauss = gaussianSource(42);
    const n = 4000;
    const sum = new Float64Array(24);
    for (let i = 0; i < n; i++) {
      const e = forecastLikeErrors(1, 24, DEFAULT_FORECAST_ERROR, gauss);
      for (let h = 0; h < 24; h++) sum[h] = sum[h]! + e[h]! ** 2;
    }
    const rms = (h: number) => Math.sqrt(sum[h - 1]! / n);
    expect(forecastErrorSigma(DEFAULT_FORECAST_ERROR, 1)).toBeCloseTo(1.175, 3);
    expect(forecastErrorSigma(DEFAULT_FORECAST_ERROR, 24)).toBeCloseTo(1.75, 3);
    expect(rms(1)).toBeGreaterThan(1.1);
    expect(rms(1)).toBeLessThan(1.25);
    expect(rms(24)).toBeGreaterThan(1.65);
    expect(rms(24)).toBeLessThan(1.85);
    expect([...forecastLikeErrors(3, 24, DEFAULT_FORECAST_ERROR, gaussianSource(7))]).toEqual([
      ...forecastLikeErrors(3, 24, DEFAULT_FORECAST_ERROR, gaussianSource(7)),
    ]);
  });

  it('correlates locations through a shared component', () => {
    const gauss = gaussianSource(1);
    let sab = 0;
    let saa = 0;
    for (let i = 0; i < 3000; i++) {
      const e = forecastLikeErrors(2, 24, DEFAULT_FORECAST_ERROR, gauss);
      sab += e[0]! * e[24]!;
      saa += e[0]! * e[0]!;
    }
    expect(sab / saa).toBeGreaterThan(0.4);
    expect(sab / saa).toBeLessThan(0.6);
  });
});

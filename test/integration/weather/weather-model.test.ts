import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelResolver } from '../../../src/adapters/model-resolver.ts';
import type { ModelMetadata, ParitySamples } from '../../../src/adapters/onnx/metadata.ts';
import { loadOnnxForecaster, type OnnxForecaster } from '../../../src/adapters/onnx/forecaster.ts';
import { WEATHER_FEATURES, weatherFeatureNames } from '../../../src/core/features.ts';
import { WEATHER_LAG_HOURS, WEATHER_SPAN_HOURS, type WindowWeather } from '../../../src/core/weather.ts';

const MODEL_DIR = 'model-artifacts';
const VERSION = 'pulse-mlp-turkey-weather-2024';

describe.runIf(existsSync(join(MODEL_DIR, `${VERSION}.json`)))('shipped weather model', () => {
  const meta = JSON.parse(readFileSync(join(MODEL_DIR, `${VERSION}.json`), 'utf8')) as ModelMetadata;
  const samples = JSON.parse(readFileSync(join(MODEL_DIR, meta.paritySamples), 'utf8')) as ParitySamples;

  it('declares its weather input, locations and calendar-only fallback in the metadata', () => {
    const input = meta.inputs.find((i) => i.name === 'weather')!;
    expect(input.shape).toEqual(['batch', WEATHER_FEATURES]);
    expect(input.columns).toEqual(weatherFeatureNames());
    expect(meta.weather!.locations).toHaveLength(10);
    expect(meta.weather!.locations.reduce((s, l) => s + l.weight, 0)).toBeCloseTo(1, 6);
    expect(meta.weather!.calendarModel).toBe('pulse-mlp-turkey-2024');
  });

  it('agrees with PyTorch on its synthetic parity samples within 1e-3 MWh + 1e-6 relative', async () => {
    const model = (await loadOnnxForecaster(MODEL_DIR, VERSION)) as OnnxForecaster;
    expect(samples.weather).toHaveLength(samples.n * WEATHER_FEATURES);
    const out = await model.run(
      Float32Array.from(samples.history),
      Float32Array.from(samples.calendar),
      samples.n,
      Float32Array.from(samples.weather!),
    );
    let worst = 0;
    for (let k = 0; k < out.length; k++) {
      const expected = samples.forecast[k]!;
      worst = Math.max(worst, Math.abs(out[k]! - expected) - (1e-3 + 1e-6 * Math.abs(expected)));
    }
    expect(worst).toBeLessThanOrEqual(0);
    // The weather input matters: other temperatures give another forecast.
    const warmer = Float32Array.from(samples.weather!, (v, i) => (i % WEATHER_FEATURES === 0 ? v : v + 8));
    const moved = await model.run(
      Float32Array.from(samples.history),
      Float32Array.from(samples.calendar),
      samples.n,
      warmer,
    );
    expect(Math.abs(moved[1]! - out[1]!)).toBeGreaterThan(1);
  });

  it('is served with its calendar-only model as the weather fallback', async () => {
    const resolver = await createModelResolver({ modelDir: MODEL_DIR, defaultVersion: VERSION });
    const f = resolver.defaultForecaster;
    expect(f.weather?.calendarFallback?.version).toBe('pulse-mlp-turkey-2024');
  });

  it('serves horizon 1 from its calendar-only model (weather.calendarHorizons), horizons 2…24 from weather', async () => {
    expect(meta.weather!.calendarHorizons).toBe(1);
    const resolver = await createModelResolver({ modelDir: MODEL_DIR, defaultVersion: VERSION });
    const model = resolver.defaultForecaster;
    const calendarOnly = model.weather!.calendarFallback!;
    const origin = Date.parse('2025-03-12T09:00:00Z');
    const values = Float64Array.from({ length: model.windowHours }, (_, i) => {
      const hour = (origin / 3_600_000 - (model.windowHours - 1 - i) + 3) % 24;
      return 40_000 + 6_000 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
    });
    const weatherAt = (celsius: number): WindowWeather => ({
      originIndex: WEATHER_LAG_HOURS,
      locations: meta.weather!.locations.map((l) => ({
        weight: l.weight,
        temperature: new Float32Array(WEATHER_SPAN_HOURS).fill(celsius),
      })),
    });
    const window = (celsius: number) => ({
      seriesId: 1,
      calendar: meta.calendar,
      origin,
      values,
      weather: weatherAt(celsius),
    });
    const [mild] = await model.forecast([window(12)]);
    const [cold] = await model.forecast([window(-4)]);
    const [calendar] = await calendarOnly.forecast([{ ...window(12), weather: undefined }]);
    // Horizon 1: the calendar-only model's forecast and interval, whatever the temperature.
    expect(mild!.values[0]).toBe(calendar!.values[0]);
    expect(mild!.lower![0]).toBe(calendar!.lower![0]);
    expect(cold!.values[0]).toBe(calendar!.values[0]);
    // Later horizons: the weather model, which moves with the temperature.
    expect(Math.abs(cold!.values[23]! - mild!.values[23]!)).toBeGreaterThan(100);
    expect(mild!.values[23]).not.toBe(calendar!.values[23]);
  });
});

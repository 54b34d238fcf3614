import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxForecaster } from '../../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata, ParitySamples } from '../../src/adapters/onnx/metadata.ts';

/**
 * The shipped model's parity samples (synthetic windows; outputs computed by PyTorch when the trainer
 * exported the model) must come out of onnxruntime-node the same. Needs no PyTorch.
 */
const MODEL_DIR = 'model-artifacts';
const registryPath = join(MODEL_DIR, 'registry.json');

describe.runIf(existsSync(registryPath))('ONNX parity with PyTorch (shipped model)', () => {
  const version = (JSON.parse(readFileSync(registryPath, 'utf8')) as { default: string }).default;
  const meta = JSON.parse(readFileSync(join(MODEL_DIR, `${version}.json`), 'utf8')) as ModelMetadata;
  const samples = JSON.parse(readFileSync(join(MODEL_DIR, meta.paritySamples), 'utf8')) as ParitySamples;

  it('has samples that match the metadata', () => {
    expect(samples.version).toBe(version);
    expect(samples.windowHours).toBe(meta.windowHours);
    expect(samples.n).toBeGreaterThanOrEqual(8);
    expect(samples.forecast).toHaveLength(samples.n * meta.horizons * meta.quantiles.length);
  });

  it('agrees within 1e-3 MWh + 1e-6 relative on every horizon and quantile', async () => {
    const model = await loadOnnxForecaster(MODEL_DIR, version);
    const out = await model.run(
      Float32Array.from(samples.history),
      Float32Array.from(samples.calendar),
      samples.n,
      samples.weather ? Float32Array.from(samples.weather) : undefined,
    );
    expect(out).toHaveLength(samples.forecast.length);
    let worst = 0;
    for (let k = 0; k < out.length; k++) {
      const expected = samples.forecast[k]!;
      const excess = Math.abs(out[k]! - expected) - (1e-3 + 1e-6 * Math.abs(expected));
      worst = Math.max(worst, excess);
    }
    expect(worst).toBeLessThanOrEqual(0);
    // Outputs are loads, not ratios: the same order of magnitude as the inputs.
    const lastInput = samples.history[samples.windowHours - 1]!;
    expect(out[1]! / lastInput).toBeGreaterThan(0.7);
    expect(out[1]! / lastInput).toBeLessThan(1.3);
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OnnxForecaster } from '../onnx/forecaster.ts';
import type { ParitySamples } from '../onnx/metadata.ts';
import type { TrainingManifest } from './contract.ts';

/** ONNX (onnxruntime-node) must reproduce PyTorch within this much, MWh: absolute + relative. */
export const PARITY_TOLERANCE = { absolute: 1e-3, relative: 1e-6 } as const;

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The parity samples of a trained model: the manifest's synthetic inputs and PyTorch's outputs. */
export async function readParitySamples(dir: string, manifest: TrainingManifest): Promise<ParitySamples> {
  const weatherFile = manifest.parity.inputs.weather;
  const [history, calendar, forecast, weather] = await Promise.all([
    readF32(join(dir, manifest.parity.inputs.history!)),
    readF32(join(dir, manifest.parity.inputs.calendar!)),
    readF32(join(dir, manifest.outputs.parityForecast)),
    weatherFile ? readF32(join(dir, weatherFile)) : null,
  ]);
  const inputs = Object.fromEntries(manifest.inputs.map((i) => [i.name, i.width]));
  return {
    version: manifest.version,
    n: manifest.parity.n,
    windowHours: inputs.history!,
    calendarSize: inputs.calendar!,
    horizons: manifest.horizons,
    quantiles: manifest.quantiles.length,
    history: [...history],
    calendar: [...calendar],
    forecast: [...forecast],
    ...(weather ? { weather: [...weather] } : {}),
  };
}

export interface ParityResult {
  readonly ok: boolean;
  /** Largest |ONNX − PyTorch| − tolerance over all outputs (≤ 0 when ok). */
  readonly worstExcess: number;
  readonly values: number;
}

/** Runs the samples through onnxruntime-node and compares with PyTorch's outputs. */
export async function checkParity(model: OnnxForecaster, samples: ParitySamples): Promise<ParityResult> {
  const out = await model.run(
    Float32Array.from(samples.history),
    Float32Array.from(samples.calendar),
    samples.n,
    samples.weather ? Float32Array.from(samples.weather) : undefined,
  );
  if (out.length !== samples.forecast.length) {
    return { ok: false, worstExcess: Infinity, values: out.length };
  }
  let worst = -Infinity;
  for (let k = 0; k < out.length; k++) {
    const expected = samples.forecast[k]!;
    const excess =
      Math.abs(out[k]! - expected) -
      (PARITY_TOLERANCE.absolute + PARITY_TOLERANCE.relative * Math.abs(expected));
    if (!(excess <= worst)) worst = Number.isNaN(excess) ? Infinity : excess;
  }
  return { ok: worst <= 0, worstExcess: worst, values: out.length };
}

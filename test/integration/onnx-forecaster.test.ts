import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearOnnxForecasterCache, loadOnnxForecaster } from '../../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata } from '../../src/adapters/onnx/metadata.ts';
import { ModelError } from '../../src/core/errors.ts';
import type { ForecastWindow } from '../../src/core/forecaster.ts';
import { HOUR_MS } from '../../src/core/time.ts';

const MODEL_DIR = 'model-artifacts';
const registryPath = join(MODEL_DIR, 'registry.json');

/** A synthetic week-plus of load with a daily and weekly rhythm (never real data). */
function syntheticWindow(origin: number, hours: number, level: number): ForecastWindow {
  const values = new Float64Array(hours);
  for (let k = 0; k < hours; k++) {
    const t = origin - (hours - 1 - k) * HOUR_MS;
    const hour = (t / HOUR_MS + 3) % 24;
    const weekday = Math.floor((t / HOUR_MS + 3) / 24 + 3) % 7;
    values[k] = level * (1 + 0.12 * Math.sin((2 * Math.PI * (hour - 9)) / 24) - (weekday >= 5 ? 0.07 : 0));
  }
  return { seriesId: 1, calendar: { country: 'TR', timezone: 'Europe/Istanbul' }, origin, values };
}

describe.runIf(existsSync(registryPath))('loadOnnxForecaster', () => {
  const version = (JSON.parse(readFileSync(registryPath, 'utf8')) as { default: string }).default;
  const meta = JSON.parse(readFileSync(join(MODEL_DIR, `${version}.json`), 'utf8')) as ModelMetadata;
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-onnx-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A copy of the shipped model whose metadata is edited by `edit`. */
  function copyWith(name: string, edit: (m: ModelMetadata) => ModelMetadata, onnxBytes?: Buffer): string {
    const dir = join(scratch, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    if (onnxBytes) writeFileSync(join(dir, meta.onnx.file), onnxBytes);
    else copyFileSync(join(MODEL_DIR, meta.onnx.file), join(dir, meta.onnx.file));
    writeFileSync(join(dir, `${version}.json`), JSON.stringify(edit(meta)));
    writeFileSync(join(dir, 'registry.json'), JSON.stringify({ default: version }));
    return dir;
  }

  it('serves the registry default: 24 horizons with lower ≤ value ≤ upper, one session per process', async () => {
    const a = await loadOnnxForecaster(MODEL_DIR);
    const b = await loadOnnxForecaster(MODEL_DIR);
    expect(a).toBe(b);
    expect(a.version).toBe(version);
    expect(a.horizons).toBe(24);
    const origin = Date.parse('2025-05-06T08:00:00Z');
    const windows = [
      syntheticWindow(origin, a.windowHours, 40_000),
      syntheticWindow(origin, a.windowHours, 20_000),
    ];
    const [big, small] = await a.forecast(windows);
    for (const r of [big!, small!]) {
      expect(r.values).toHaveLength(24);
      for (let h = 0; h < 24; h++) {
        expect(r.lower![h]).toBeLessThanOrEqual(r.values[h]!);
        expect(r.values[h]).toBeLessThanOrEqual(r.upper![h]!);
      }
    }
    // Normalisation is inside the graph: halving the load halves the forecast.
    for (let h = 0; h < 24; h++) expect(small!.values[h]! / big!.values[h]!).toBeCloseTo(0.5, 4);
    const next = big!.values[0]! / windows[0]!.values.at(-1)!;
    expect(Math.abs(next - 1)).toBeLessThan(0.15);
  });

  it('refuses an ONNX file whose sha256 differs from the metadata, naming file and both hashes', async () => {
    const bytes = readFileSync(join(MODEL_DIR, meta.onnx.file));
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff;
    const dir = copyWith('corrupt', (m) => m, corrupt);
    const actual = createHash('sha256').update(corrupt).digest('hex');
    clearOnnxForecasterCache();
    const error = await loadOnnxForecaster(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toContain(join(dir, meta.onnx.file));
    expect((error as Error).message).toContain(actual);
    expect((error as Error).message).toContain(meta.onnx.sha256);
  });

  it('refuses a missing ONNX file and a missing registry', async () => {
    const dir = copyWith('missing', (m) => ({ ...m, onnx: { ...m.onnx, file: 'gone.onnx' } }));
    await expect(loadOnnxForecaster(dir)).rejects.toThrow(/gone\.onnx.*cannot be read/);
    await expect(loadOnnxForecaster(join(scratch, 'nowhere'))).rejects.toThrow(
      /registry\.json cannot be read/,
    );
  });

  it('refuses metadata whose input spec does not match the graph', async () => {
    const dir = copyWith('shape', (m) => ({
      ...m,
      windowHours: 24,
      inputs: m.inputs.map((i) => (i.name === 'history' ? { ...i, shape: ['batch', 24] } : i)),
    }));
    await expect(loadOnnxForecaster(dir)).rejects.toThrow(
      new RegExp(`input "history" has shape \\[batch, ${meta.windowHours}\\]`),
    );
    const renamed = copyWith('names', (m) => ({ ...m, inputs: [...m.inputs].reverse() }));
    await expect(loadOnnxForecaster(renamed)).rejects.toThrow(
      /has inputs \[history, calendar\], metadata says \[calendar, history\]/,
    );
  });

  it('refuses a model trained with another feature contract', async () => {
    const dir = copyWith('features', (m) => ({ ...m, featuresVersion: 'pulse-features-v0' }));
    await expect(loadOnnxForecaster(dir)).rejects.toThrow(/features "pulse-features-v0"/);
  });
});

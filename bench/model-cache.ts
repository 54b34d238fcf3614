/**
 * A forecast step with 1, 10 and 100 distinct per-series models (each series its own version in a
 * local model store; copies of the shipped model, so every version is its own ONNX session): time of
 * the first run (models loaded from the store: sha256, contract, session) and of the next (cached per
 * process), and the growth of the process's resident memory. The model step only: the database part of
 * a run is the hourly section's.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelResolver } from '../src/adapters/model-resolver.ts';
import { LocalModelStore } from '../src/adapters/model-store/local-store.ts';
import { clearOnnxForecasterCache } from '../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata } from '../src/adapters/onnx/metadata.ts';
import { forecastOrigins, type ForecastOrigin } from '../src/core/forecasting.ts';
import type { SeriesInfo } from '../src/core/series.ts';
import { generateSyntheticSeries } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';
import { figure, skipped, type Figure, type Section } from './figures.ts';
import type { BenchModel } from './model.ts';
import { MB } from './stats.ts';

export async function benchModelCache(model: BenchModel, counts: readonly number[]): Promise<Section> {
  const title = 'Forecast step with distinct per-series models (model cache)';
  if (model.status !== 'present') {
    return {
      id: 'modelCache',
      title,
      method: 'needs the shipped ONNX model',
      figures: [skipped('modelCache', title, 'ms', 'model missing')],
    };
  }
  const meta = JSON.parse(readFileSync(join(model.dir, `${model.version}.json`), 'utf8')) as ModelMetadata;
  const to = Date.UTC(2025, 5, 30, 23);
  const from = to - (meta.windowHours + 24 * 7) * HOUR_MS;
  const values = Float64Array.from(generateSyntheticSeries({ from, to, seed: 3 }), (r) => r.value);
  const rss = () => process.memoryUsage().rss / MB;
  const figures: Figure[] = [];
  for (const count of counts) {
    const models = `${count} distinct model${count === 1 ? '' : 's'}`;
    clearOnnxForecasterCache();
    const dir = mkdtempSync(join(tmpdir(), 'pulse-model-cache-'));
    try {
      const series: SeriesInfo[] = [];
      for (let i = 0; i < count; i++) {
        const version = `cache-${String(i).padStart(3, '0')}`;
        copyFileSync(join(model.dir, meta.onnx.file), join(dir, `${version}.onnx`));
        writeFileSync(
          join(dir, `${version}.json`),
          JSON.stringify({ ...meta, version, onnx: { ...meta.onnx, file: `${version}.onnx` } }),
        );
        series.push({
          id: i + 1,
          name: `s${i}`,
          unit: 'MWh',
          country: 'TR',
          timezone: 'Europe/Istanbul',
          modelVersion: version,
          minPlausible: null,
          maxPlausible: null,
        });
      }
      const origins: ForecastOrigin[] = series.map((s) => ({
        history: { series: s, start: from, values },
        origin: to,
        issuedAt: to + HOUR_MS,
      }));
      const before = rss();
      const resolver = await createModelResolver({ modelDir: model.dir, store: new LocalModelStore(dir) });
      let t = performance.now();
      await resolver.prepare!(series);
      const first = await forecastOrigins(origins, resolver);
      const cold = performance.now() - t;
      t = performance.now();
      await resolver.prepare!(series);
      await forecastOrigins(origins, resolver);
      const warm = performance.now() - t;
      if (first.okOrigins !== count)
        throw new Error(`only ${first.okOrigins} of ${count} series forecast by their own model`);
      figures.push(
        figure({
          id: `modelCache.${count}.first`,
          label: `${models}: first run (each loaded from the store)`,
          value: cold,
          unit: 'ms',
        }),
        figure({
          id: `modelCache.${count}.next`,
          label: `${models}: next run (sessions cached in the process)`,
          value: warm,
          unit: 'ms',
        }),
        figure({
          id: `modelCache.${count}.rss`,
          label: `${models}: resident memory added`,
          value: rss() - before,
          unit: 'MB',
          note: `process RSS ${rss().toFixed(0)} MB after the runs`,
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  clearOnnxForecasterCache();
  return {
    id: 'modelCache',
    title,
    method:
      `One forecast origin per series, each series assigned its own version in a local model store (copies of ${model.version}, ` +
      'so each is its own ONNX session): the first run loads them (sha256, feature contract, session), the next finds them cached.',
    figures,
  };
}

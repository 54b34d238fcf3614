/**
 * npx tsx bench/model-cache.ts [--counts 1,10,100]
 *
 * A forecast step with 1, 10 and 100 distinct per-series models (each series its own version in a
 * local model store; copies of the shipped model, so every version is its own ONNX session): time of
 * the first run (models loaded from the store: sha256, contract, session) and of the next (cached per
 * process), and the process's resident memory. The database part of a run is measured by npm run bench.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModelResolver } from '../src/adapters/model-resolver.ts';
import { LocalModelStore } from '../src/adapters/model-store/local-store.ts';
import { clearOnnxForecasterCache } from '../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata } from '../src/adapters/onnx/metadata.ts';
import { forecastOrigins, type ForecastOrigin } from '../src/core/forecasting.ts';
import type { SeriesInfo } from '../src/core/series.ts';
import { generateSyntheticSeries } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';

const { values: args } = parseArgs({ options: { counts: { type: 'string', default: '1,10,100' } } });
const MODEL_DIR = 'model-artifacts';
const shipped = (JSON.parse(readFileSync(join(MODEL_DIR, 'registry.json'), 'utf8')) as { default: string })
  .default;
const meta = JSON.parse(readFileSync(join(MODEL_DIR, `${shipped}.json`), 'utf8')) as ModelMetadata;
const mb = () => process.memoryUsage().rss / 2 ** 20;

const to = Date.UTC(2025, 5, 30, 23);
const from = to - (meta.windowHours + 24 * 7) * HOUR_MS;
const values = Float64Array.from(generateSyntheticSeries({ from, to, seed: 3 }), (r) => r.value);

for (const count of (args.counts ?? '').split(',').map(Number)) {
  clearOnnxForecasterCache();
  const dir = mkdtempSync(join(tmpdir(), 'pulse-model-cache-'));
  const series: SeriesInfo[] = [];
  for (let i = 0; i < count; i++) {
    const version = `cache-${String(i).padStart(3, '0')}`;
    copyFileSync(join(MODEL_DIR, meta.onnx.file), join(dir, `${version}.onnx`));
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
  const before = mb();
  const resolver = await createModelResolver({ modelDir: MODEL_DIR, store: new LocalModelStore(dir) });
  let t = performance.now();
  await resolver.prepare!(series);
  const first = await forecastOrigins(origins, resolver);
  const cold = performance.now() - t;
  t = performance.now();
  await resolver.prepare!(series);
  await forecastOrigins(origins, resolver);
  const warm = performance.now() - t;
  if (first.okOrigins !== count)
    throw new Error(`only ${first.okOrigins} of ${count} series forecast by their model`);
  console.log(
    `${count} models: first run ${cold.toFixed(0)} ms (loads), next run ${warm.toFixed(0)} ms; RSS +${(mb() - before).toFixed(0)} MB (${mb().toFixed(0)} MB); load average ${loadavg()[0]!.toFixed(1)}`,
  );
  rmSync(dir, { recursive: true, force: true });
}

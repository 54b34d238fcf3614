/**
 * One measurement of bench/model-cache.ts in a process of its own, so the memory it adds is not mixed
 * with what earlier sections left: `tsx bench/model-cache-child.ts MODEL_DIR VERSION COUNT` prints one
 * JSON line.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelResolver } from '../src/adapters/model-resolver.ts';
import { LocalModelStore } from '../src/adapters/model-store/local-store.ts';
import type { ModelMetadata } from '../src/adapters/onnx/metadata.ts';
import { forecastOrigins, type ForecastOrigin } from '../src/core/forecasting.ts';
import type { SeriesInfo } from '../src/core/series.ts';
import { generateSyntheticSeries } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';
import { MB } from './stats.ts';

export interface ModelCacheReport {
  readonly firstMs: number;
  readonly nextMs: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
}

const [modelDir, version, countText] = process.argv.slice(2);
const count = Number(countText);
const meta = JSON.parse(readFileSync(join(modelDir!, `${version}.json`), 'utf8')) as ModelMetadata;
const to = Date.UTC(2025, 5, 30, 23);
const from = to - (meta.windowHours + 24 * 7) * HOUR_MS;
const values = Float64Array.from(generateSyntheticSeries({ from, to, seed: 3 }), (r) => r.value);
const dir = mkdtempSync(join(tmpdir(), 'pulse-model-cache-'));
try {
  const series: SeriesInfo[] = [];
  for (let i = 0; i < count; i++) {
    const copy = `cache-${String(i).padStart(3, '0')}`;
    copyFileSync(join(modelDir!, meta.onnx.file), join(dir, `${copy}.onnx`));
    writeFileSync(
      join(dir, `${copy}.json`),
      JSON.stringify({ ...meta, version: copy, onnx: { ...meta.onnx, file: `${copy}.onnx` } }),
    );
    series.push({
      id: i + 1,
      name: `s${i}`,
      unit: 'MWh',
      country: 'TR',
      timezone: 'Europe/Istanbul',
      modelVersion: copy,
      minPlausible: null,
      maxPlausible: null,
    });
  }
  const origins: ForecastOrigin[] = series.map((s) => ({
    history: { series: s, start: from, values },
    origin: to,
    issuedAt: to + HOUR_MS,
  }));
  // The default model is loaded before the baseline: the memory after is that of the `count` models.
  const resolver = await createModelResolver({ modelDir: modelDir!, store: new LocalModelStore(dir) });
  const rssBeforeMb = process.memoryUsage().rss / MB;
  let t = performance.now();
  await resolver.prepare!(series);
  const first = await forecastOrigins(origins, resolver);
  const firstMs = performance.now() - t;
  t = performance.now();
  await resolver.prepare!(series);
  await forecastOrigins(origins, resolver);
  const nextMs = performance.now() - t;
  if (first.okOrigins !== count)
    throw new Error(`only ${first.okOrigins} of ${count} series forecast by their own model`);
  const report: ModelCacheReport = {
    firstMs,
    nextMs,
    rssBeforeMb,
    rssAfterMb: process.memoryUsage().rss / MB,
  };
  process.stdout.write(JSON.stringify(report) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A forecast step with 1, 10 and 100 distinct per-series models (each series its own version in a
 * local model store; copies of the shipped model, so every version is its own ONNX session): time of
 * the first run (models loaded from the store: sha256, contract, session) and of the next (cached per
 * process), and the resident memory the models add. Each count runs in a fresh process
 * (model-cache-child.ts). The model step only: the database part of a run is the hourly section's.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { figure, type Figure, type Section } from './figures.ts';
import type { ModelCacheReport } from './model-cache-child.ts';
import { modelMissingSection, type BenchModel } from './model.ts';

const run = promisify(execFile);

export async function benchModelCache(
  repoRoot: string,
  model: BenchModel,
  counts: readonly number[],
): Promise<Section> {
  const title = 'Forecast step with distinct per-series models (model cache)';
  if (model.status !== 'present') return modelMissingSection('modelCache', title, 'ms');
  const figures: Figure[] = [];
  for (const count of counts) {
    const { stdout } = await run(
      process.execPath,
      [
        join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        join(repoRoot, 'bench', 'model-cache-child.ts'),
        model.dir,
        model.version!,
        String(count),
      ],
      { cwd: repoRoot, maxBuffer: 1024 * 1024 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as ModelCacheReport;
    const models = `${count} distinct model${count === 1 ? '' : 's'}`;
    figures.push(
      figure({
        id: `modelCache.${count}.first`,
        label: `${models}: first run (each loaded from the store)`,
        value: r.firstMs,
        unit: 'ms',
      }),
      figure({
        id: `modelCache.${count}.next`,
        label: `${models}: next run (sessions cached in the process)`,
        value: r.nextMs,
        unit: 'ms',
      }),
      figure({
        id: `modelCache.${count}.rss`,
        label: `${models}: resident memory added`,
        value: r.rssAfterMb - r.rssBeforeMb,
        unit: 'MB',
        note: `process RSS ${r.rssBeforeMb.toFixed(0)} MB with the default model loaded, ${r.rssAfterMb.toFixed(0)} MB after`,
      }),
    );
  }
  return {
    id: 'modelCache',
    title,
    method:
      `One forecast origin per series, each series assigned its own version in a local model store (copies of ${model.version}, ` +
      'so each is its own ONNX session), each count in a fresh process: the first run loads them (sha256, feature contract, ' +
      'session), the next finds them cached.',
    figures,
  };
}

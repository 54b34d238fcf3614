import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createModelResolver, type LoadedModels } from '../src/adapters/model-resolver.ts';
import type { ModelMetadata } from '../src/adapters/onnx/metadata.ts';
import { seasonalNaive168 } from '../src/core/baselines.ts';
import { skipped, type Section } from './figures.ts';

export interface BenchModel {
  readonly dir: string;
  /** Registry default version, or null when no trained model is there ('model missing'). */
  readonly version: string | null;
  readonly status: 'present' | 'missing';
  /** The resolver the pipeline uses: the ONNX default model, or seasonal naive when it is missing. */
  readonly resolver: LoadedModels;
  readonly forecasterName: string;
}

/** The trained model in `dir` (registry.json + <version>.onnx/.json), as the forecast function loads it. */
export async function findModel(dir: string): Promise<BenchModel> {
  const abs = resolve(dir);
  if (!existsSync(join(abs, 'registry.json'))) {
    const resolver = await createModelResolver({ modelDir: abs, allowBaselineDefault: true });
    return {
      dir: abs,
      version: null,
      status: 'missing',
      resolver,
      forecasterName: `${seasonalNaive168.version} (model missing)`,
    };
  }
  const resolver = await createModelResolver({ modelDir: abs });
  const version = resolver.defaultForecaster.version;
  return { dir: abs, version, status: 'present', resolver, forecasterName: `ONNX ${version}` };
}

/** Metadata of every model in `dir`, keyed by version (for per-data-set models in the accuracy section). */
export function listModels(dir: string): ModelMetadata[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'registry.json' && !f.endsWith('.parity.json'))
    .map((f) => {
      try {
        return JSON.parse(readFileSync(join(dir, f), 'utf8')) as ModelMetadata;
      } catch {
        return null;
      }
    })
    .filter((m): m is ModelMetadata => m !== null && typeof m.version === 'string' && !!m.onnx);
}

/** The section of a bench that needs the shipped ONNX model, when there is none. */
export function modelMissingSection(id: string, title: string, unit: string): Section {
  return {
    id,
    title,
    method: 'needs the shipped ONNX model',
    figures: [skipped(id, title, unit, 'model missing')],
  };
}

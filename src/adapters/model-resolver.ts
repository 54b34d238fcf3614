import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { persistence, seasonalNaive168, seasonalNaive24 } from '../core/baselines.ts';
import { ModelError } from '../core/errors.ts';
import type { Forecaster, ForecastResult } from '../core/forecaster.ts';
import type { ModelResolver } from '../core/forecasting.ts';
import type { SeriesInfo } from '../core/series.ts';
import { loadOnnxForecaster } from './onnx/index.ts';

export const BASELINES: readonly Forecaster[] = [persistence, seasonalNaive24, seasonalNaive168];

/** The resolver of a process, with the models it loaded (registered in model_versions). */
export interface LoadedModels extends ModelResolver {
  readonly defaultForecaster: Forecaster;
  readonly forecasters: readonly Forecaster[];
}

export interface ResolverOptions {
  /** Folder with registry.json, <version>.onnx and <version>.json. */
  readonly modelDir: string;
  /** Versions series are assigned to (preloaded, so forecasterFor never waits). */
  readonly assignedVersions?: readonly string[];
  /** Use this version as the default instead of the registry's (e.g. a baseline name). */
  readonly defaultVersion?: string;
  /** Without a trained model in modelDir, serve seasonal naive instead of failing (local demos). */
  readonly allowBaselineDefault?: boolean;
}

/**
 * Loads the models the series need, once per process (a Lambda container keeps them warm).
 * A model that is present but broken fails fast: a corrupt file must never be served silently.
 */
export async function createModelResolver(options: ResolverOptions): Promise<LoadedModels> {
  const byVersion = new Map<string, Forecaster>(BASELINES.map((b) => [b.version, b]));
  const load = async (version?: string): Promise<Forecaster> => {
    if (version && byVersion.has(version)) return byVersion.get(version)!;
    const model = await loadOnnxForecaster(options.modelDir, version);
    byVersion.set(model.version, model);
    return model;
  };
  let defaultForecaster: Forecaster;
  if (options.defaultVersion) {
    defaultForecaster = await load(options.defaultVersion);
  } else if (!existsSync(join(options.modelDir, 'registry.json')) && options.allowBaselineDefault) {
    defaultForecaster = seasonalNaive168;
  } else {
    defaultForecaster = await load();
  }
  const missing = new Map<string, Forecaster>();
  for (const version of options.assignedVersions ?? []) {
    try {
      await load(version);
    } catch (error) {
      // The series keep being forecast by their fallback, flagged with this message.
      missing.set(version, unavailable(version, defaultForecaster, error as Error));
    }
  }
  return {
    defaultForecaster,
    forecasters: [...byVersion.values()],
    maxWindowHours: Math.max(...[...byVersion.values()].map((f) => f.windowHours)),
    forecasterFor(series: SeriesInfo): Forecaster {
      if (!series.modelVersion) return defaultForecaster;
      return (
        byVersion.get(series.modelVersion) ??
        missing.get(series.modelVersion) ??
        unavailable(series.modelVersion, defaultForecaster, new Error('not loaded'))
      );
    },
  };
}

function unavailable(version: string, like: Forecaster, cause: Error): Forecaster {
  return {
    version,
    windowHours: like.windowHours,
    horizons: like.horizons,
    async forecast(): Promise<ForecastResult[]> {
      throw new ModelError(`model ${version} is unavailable: ${cause.message}`, { cause });
    },
  };
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { persistence, seasonalNaive168, seasonalNaive24 } from '../core/baselines.ts';
import { ModelError } from '../core/errors.ts';
import type { Forecaster, ForecastResult } from '../core/forecaster.ts';
import type { ModelResolver } from '../core/forecasting.ts';
import type { SeriesInfo } from '../core/series.ts';
import type { ModelStore } from './model-store/model-store.ts';
import { loadOnnxForecaster } from './onnx/index.ts';

export const BASELINES: readonly Forecaster[] = [persistence, seasonalNaive24, seasonalNaive168];

/** The resolver of a process, with the models it loaded (registered in model_versions). */
export interface LoadedModels extends ModelResolver {
  readonly defaultForecaster: Forecaster;
  readonly forecasters: readonly Forecaster[];
}

export interface ResolverOptions {
  /** Folder with registry.json, <version>.onnx and <version>.json (the shipped models: the layer). */
  readonly modelDir: string;
  /** Versions series are assigned to (preloaded, so forecasterFor never waits). */
  readonly assignedVersions?: readonly string[];
  /** Use this version as the default instead of the registry's (e.g. a baseline name). */
  readonly defaultVersion?: string;
  /** Without a trained model in modelDir, serve seasonal naive instead of failing (local demos). */
  readonly allowBaselineDefault?: boolean;
  /**
   * Where per-series models are kept (S3 or a local folder). A version not in modelDir is fetched from
   * here once per process; when the store cannot be read, the default model stands in, labelled.
   */
  readonly store?: ModelStore;
  /**
   * The most ONNX models held at once, the default included (each session holds its weights in memory).
   * An assigned version beyond it is not loaded: the default forecasts for it, labelled, so a process
   * never runs out of memory because series were given their own models. Unset: no limit.
   */
  readonly maxModels?: number;
}

/**
 * Loads the models the series need, once per process (a Lambda container keeps them warm), and the
 * versions promoted later when a run first meets them (`prepare`).
 * A model that is present but broken fails fast: a corrupt file must never be served silently (its
 * series get a flagged baseline). A model store that cannot be read is different: the series keeps a
 * model forecast from the shipped default, stored as a fallback that names the store and the error.
 */
export async function createModelResolver(options: ResolverOptions): Promise<LoadedModels> {
  const byVersion = new Map<string, Forecaster>(BASELINES.map((b) => [b.version, b]));
  const load = async (version?: string): Promise<Forecaster> => {
    if (version && byVersion.has(version)) return byVersion.get(version)!;
    const model = await loadOnnxForecaster(options.modelDir, version);
    byVersion.set(model.version, model);
    if (model.weather && !model.weather.calendarFallback) {
      // A weather model brings its calendar-only model along: it forecasts when weather is missing.
      const calendarModel = model.metadata.weather?.calendarModel;
      if (calendarModel && calendarModel !== model.version) {
        try {
          model.weather.calendarFallback = await load(calendarModel);
        } catch {
          // Without it, series whose weather is missing get the seasonal-naive fallback, labelled.
        }
      }
    }
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
  /** Versions that could not be served: a labelled stand-in (store unreadable) or a failing one (broken model). */
  const missing = new Map<string, Forecaster>();
  const loadAssigned = async (version: string): Promise<void> => {
    if (byVersion.has(version)) return;
    const held = [...byVersion.values()].filter((f) => !BASELINES.includes(f)).length;
    if (options.maxModels !== undefined && held >= options.maxModels) {
      const problem = `is not loaded because this process already holds the ${options.maxModels} models its memory fits (PULSE_MAX_MODELS; in AWS raise the forecast function's memory, docs/deploy.md)`;
      missing.set(version, standIn(version, defaultForecaster, problem));
      return;
    }
    const store = options.store;
    if (!store || existsSync(join(options.modelDir, `${version}.json`))) {
      try {
        await load(version);
        missing.delete(version);
      } catch (error) {
        // The series keep being forecast by their fallback, flagged with this message.
        missing.set(version, unavailable(version, defaultForecaster, error as Error));
      }
      return;
    }
    let dir: string;
    try {
      dir = await store.fetch(version);
    } catch (error) {
      const problem = `cannot be read from the model store ${store.uri} (${(error as Error).message})`;
      missing.set(version, standIn(version, defaultForecaster, problem));
      return;
    }
    try {
      const model = await loadOnnxForecaster(dir, version);
      byVersion.set(version, model);
      missing.delete(version);
    } catch (error) {
      missing.set(version, unavailable(version, defaultForecaster, error as Error));
    }
  };
  for (const version of options.assignedVersions ?? []) await loadAssigned(version);
  return {
    defaultForecaster,
    get forecasters() {
      return [...byVersion.values()];
    },
    get maxWindowHours() {
      return Math.max(...[...byVersion.values()].map((f) => f.windowHours));
    },
    async prepare(series: readonly SeriesInfo[]): Promise<void> {
      // New assignments, and stand-ins whose store may be readable again (one attempt per run).
      const wanted = new Set(
        series
          .map((s) => s.modelVersion)
          .filter((v): v is string => v !== null && (!byVersion.has(v) || missing.has(v))),
      );
      for (const version of wanted) {
        if (missing.get(version)?.substitution || !missing.has(version)) await loadAssigned(version);
      }
    },
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

/** The default model forecasting in place of `version`, labelled with why (`problem`). */
function standIn(version: string, fallback: Forecaster, problem: string): Forecaster {
  return {
    version,
    windowHours: fallback.windowHours,
    horizons: fallback.horizons,
    forecast: (windows) => fallback.forecast(windows),
    substitution: {
      method: fallback.version,
      reason: `model-unavailable: model ${version} ${problem}; the default model ${fallback.version} stands in`,
    },
  };
}

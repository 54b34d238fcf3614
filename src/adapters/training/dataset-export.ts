import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../core/errors.ts';
import {
  buildFeatures,
  CALENDAR_FEATURES,
  calendarFeatureNames,
  FEATURES_VERSION,
  HORIZONS,
  WEATHER_FEATURES,
} from '../../core/features.ts';
import type { SeriesCalendar } from '../../core/forecaster.ts';
import { hourAt, type HourlySeries } from '../../core/hourly-series.ts';
import { toIso } from '../../core/time.ts';
import {
  forecastLikeErrors,
  gaussianSource,
  WEATHER_AHEAD_HOURS,
  WEATHER_LAG_HOURS,
  WEATHER_SPAN_HOURS,
  type ForecastErrorModel,
  type WeatherLocation,
  type WindowWeather,
} from '../../core/weather.ts';
import {
  buildTrainingTensors,
  recencyWeights,
  splitOrigins,
  syntheticParityWindows,
  trainingBoundaries,
  type OriginSplit,
} from '../../core/training-data.ts';
import { TRAINING_QUANTILES, TrainingManifestSchema, type TrainingManifest } from './contract.ts';
import { trainerHyper, type TrainingRecipe } from './recipe.ts';

/** Parity windows per model (synthetic). */
export const PARITY_WINDOWS = 16;
export const MANIFEST_FILE = 'manifest.json';

export interface DatasetExportRequest {
  readonly series: HourlySeries;
  readonly calendar: SeriesCalendar;
  readonly recipe: TrainingRecipe;
  readonly version: string;
  /** Training and validation targets end with this local day of the series (days since 1970-01-01). */
  readonly untilDay: number;
  /** Folder the tensors and the manifest go to (emptied first). */
  readonly dir: string;
  /** Weather models: the `weather` input; only windows with complete weather are kept. */
  readonly weather?: TrainingWeather;
}

/** The weather a weather model trains on (issue 18). */
export interface TrainingWeather {
  readonly locations: readonly WeatherLocation[];
  /** °C per location on the series' hour grid (index i = the series' hour i); NaN where unknown. */
  readonly temperatures: readonly Float32Array[];
  /**
   * Forecast-like error added to the target-hour temperatures of every training and validation window
   * (one seeded draw per window), so the model learns how far to trust a forecast; null = observed as-is.
   */
  readonly error: ForecastErrorModel | null;
}

export interface ExportedDataset {
  readonly manifest: TrainingManifest;
  /** Last target hour training and validation used (UTC ms). */
  readonly trainEnd: number;
  readonly manifestPath: string;
  readonly split: OriginSplit;
}

async function writeF32(path: string, data: Float32Array): Promise<void> {
  await writeFile(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * Builds the training and validation tensors with the core's feature code, the synthetic parity
 * inputs, and the typed manifest the Python trainer reads (validated before it is written).
 */
export async function exportDataset(request: DatasetExportRequest): Promise<ExportedDataset> {
  const { series, calendar, recipe, dir } = request;
  const { trainEnd, validationStart } = trainingBoundaries(
    calendar.timezone,
    request.untilDay,
    recipe.validationDays,
  );
  let split = splitOrigins(series, {
    windowHours: recipe.windowHours,
    trainEnd,
    validationStart,
    maxTrain: recipe.maxTrain,
  });
  if (!split) {
    throw new InputError(
      `not enough complete ${recipe.windowHours} h windows before the end of training for both training and ${recipe.validationDays} days of validation`,
    );
  }
  let weatherFor: ((i: number) => WindowWeather) | undefined;
  if (request.weather) {
    const w = request.weather;
    const complete = completeWeather(w.temperatures);
    split = withOrigins(series, split, (i) => complete(i));
    if (!split) {
      throw new InputError(
        'no training or validation window has complete weather (every location, 168 h before the origin to 24 h after)',
      );
    }
    const gauss = gaussianSource(recipe.seed);
    const locations = w.locations.map((l, k) => ({ weight: l.weight, temperature: w.temperatures[k]! }));
    weatherFor = (i) => ({
      originIndex: i,
      locations,
      ...(w.error ? { forecastError: forecastLikeErrors(locations.length, HORIZONS, w.error, gauss) } : {}),
    });
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  const splits = {
    train: buildTrainingTensors(series, calendar, split.train, recipe.windowHours, weatherFor),
    val: buildTrainingTensors(series, calendar, split.validation, recipe.windowHours, weatherFor),
  };
  const files: Record<'train' | 'val', TrainingManifest['train']> = {} as never;
  for (const name of ['train', 'val'] as const) {
    const s = splits[name];
    const inputs: Record<string, string> = {};
    for (const [input, data] of Object.entries(s.inputs)) {
      inputs[input] = `${name}_${input}.f32`;
      await writeF32(join(dir, inputs[input]), data);
    }
    await writeF32(join(dir, `${name}_target.f32`), s.target);
    files[name] = { n: s.n, inputs, target: `${name}_target.f32` };
  }
  if (recipe.halfLifeYears > 0) {
    const weights = recencyWeights(series, split.train, trainEnd, recipe.halfLifeYears);
    await writeF32(join(dir, 'train_weight.f32'), weights);
    files.train = { ...files.train, weight: 'train_weight.f32' };
  }
  const parityWindows = syntheticParityWindows(calendar, recipe.windowHours, PARITY_WINDOWS).map((p, k) =>
    request.weather ? { ...p, weather: syntheticParityWeather(request.weather.locations, k) } : p,
  );
  const parity = buildFeatures(parityWindows, {
    windowHours: recipe.windowHours,
    horizons: HORIZONS,
    weather: request.weather !== undefined,
  });
  await writeF32(join(dir, 'parity_history.f32'), parity.history);
  await writeF32(join(dir, 'parity_calendar.f32'), parity.calendar);
  const parityInputs: Record<string, string> = {
    history: 'parity_history.f32',
    calendar: 'parity_calendar.f32',
  };
  if (parity.weather) {
    await writeF32(join(dir, 'parity_weather.f32'), parity.weather);
    parityInputs.weather = 'parity_weather.f32';
  }

  const manifest = TrainingManifestSchema.parse({
    version: request.version,
    featuresVersion: FEATURES_VERSION,
    horizons: HORIZONS,
    quantiles: [...TRAINING_QUANTILES],
    inputs: [
      { name: 'history', width: recipe.windowHours, role: 'history' },
      { name: 'calendar', width: CALENDAR_FEATURES, role: 'covariates' },
      // Standardised in the graph; column 0 is the "window has weather" flag.
      ...(request.weather
        ? [{ name: 'weather', width: WEATHER_FEATURES, role: 'covariates' as const, maskColumn: 0 }]
        : []),
    ],
    holidayColumns: calendarFeatureNames().flatMap((name, i) =>
      /^t\d+_(holiday|half_day)$/.test(name) ? [i] : [],
    ),
    hyper: trainerHyper(recipe),
    train: files.train,
    val: files.val,
    parity: { n: parity.n, inputs: parityInputs },
    outputs: {
      onnx: 'model.onnx',
      parityForecast: 'parity_forecast.f32',
      report: 'report.json',
      state: 'ensemble.pt',
    },
  } satisfies TrainingManifest);
  const manifestPath = join(dir, MANIFEST_FILE);
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, manifestPath, split, trainEnd };
}

/** A test of "window at series index i has every location's temperature from i − 168 h to i + 24 h". */
function completeWeather(temperatures: readonly Float32Array[]): (i: number) => boolean {
  // Per location, the count of unknown hours before each index: a window is one subtraction.
  const missing = temperatures.map((t) => {
    const before = new Int32Array(t.length + 1);
    for (let k = 0; k < t.length; k++) before[k + 1] = before[k]! + (Number.isNaN(t[k]!) ? 1 : 0);
    return before;
  });
  return (i) =>
    missing.every((before) => {
      const from = i - WEATHER_LAG_HOURS;
      const to = i + WEATHER_AHEAD_HOURS + 1;
      return from >= 0 && to < before.length && before[to]! - before[from]! === 0;
    });
}

/** The split keeping only the origins `keep` accepts (spans recomputed); null when a side is empty. */
function withOrigins(
  series: HourlySeries,
  split: OriginSplit,
  keep: (i: number) => boolean,
): OriginSplit | null {
  const train = split.train.filter(keep);
  const validation = split.validation.filter(keep);
  if (train.length === 0 || validation.length === 0) return null;
  const span = (origins: readonly number[]) => ({
    from: toIso(hourAt(series, origins[0]! + 1)),
    to: toIso(hourAt(series, origins.at(-1)! + HORIZONS)),
  });
  return { train, validation, trainingSpan: span(train), validationSpan: span(validation) };
}

/** Deterministic synthetic temperatures for the parity windows (never real data). */
function syntheticParityWeather(locations: readonly WeatherLocation[], k: number): WindowWeather {
  return {
    originIndex: WEATHER_LAG_HOURS,
    locations: locations.map((l, j) => ({
      weight: l.weight,
      temperature: Float32Array.from(
        { length: WEATHER_SPAN_HOURS },
        (_, h) => 4 + 2.5 * k + j + 7 * Math.sin((2 * Math.PI * (h - 14)) / 24),
      ),
    })),
  };
}

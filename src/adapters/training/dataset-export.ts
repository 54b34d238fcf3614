import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../core/errors.ts';
import {
  buildFeatures,
  CALENDAR_FEATURES,
  calendarFeatureNames,
  FEATURES_VERSION,
  HORIZONS,
} from '../../core/features.ts';
import type { SeriesCalendar } from '../../core/forecaster.ts';
import type { HourlySeries } from '../../core/hourly-series.ts';
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
  const split = splitOrigins(series, {
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
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  const splits = {
    train: buildTrainingTensors(series, calendar, split.train, recipe.windowHours),
    val: buildTrainingTensors(series, calendar, split.validation, recipe.windowHours),
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
  const parity = buildFeatures(syntheticParityWindows(calendar, recipe.windowHours, PARITY_WINDOWS), {
    windowHours: recipe.windowHours,
    horizons: HORIZONS,
  });
  await writeF32(join(dir, 'parity_history.f32'), parity.history);
  await writeF32(join(dir, 'parity_calendar.f32'), parity.calendar);

  const manifest = TrainingManifestSchema.parse({
    version: request.version,
    featuresVersion: FEATURES_VERSION,
    horizons: HORIZONS,
    quantiles: [...TRAINING_QUANTILES],
    inputs: [
      { name: 'history', width: recipe.windowHours, role: 'history' },
      { name: 'calendar', width: CALENDAR_FEATURES, role: 'covariates' },
    ],
    holidayColumns: calendarFeatureNames().flatMap((name, i) =>
      /^t\d+_(holiday|half_day)$/.test(name) ? [i] : [],
    ),
    hyper: trainerHyper(recipe),
    train: files.train,
    val: files.val,
    parity: {
      n: parity.n,
      inputs: { history: 'parity_history.f32', calendar: 'parity_calendar.f32' },
    },
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

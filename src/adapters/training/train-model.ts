import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runBacktest, summarizeBacktest, type BacktestReport } from '../../core/backtest.ts';
import {
  calendarFeatureNames,
  FEATURES_VERSION,
  WEATHER_FEATURES_VERSION,
  weatherFeatureNames,
} from '../../core/features.ts';
import type { SeriesCalendar } from '../../core/forecaster.ts';
import { hourAt, type HourlySeries } from '../../core/hourly-series.ts';
import { HOUR_MS, toIso, type HourMs } from '../../core/time.ts';
import { clearOnnxForecasterCache, loadOnnxForecaster } from '../onnx/forecaster.ts';
import type { ModelMetadata, ModelWeather } from '../onnx/metadata.ts';
import { searchRecipe, type RecipeSearch, type RecipeSearchRecord } from './auto-recipe.ts';
import { exportDataset, type TrainingWeather } from './dataset-export.ts';
import { publishOnnx, writeModelMetadata, writeParitySamples } from './model-files.ts';
import { checkParity, readParitySamples, type ParityResult } from './parity.ts';
import type { TrainingRecipe } from './recipe.ts';
import type { TrainingManifest, TrainingReport } from './contract.ts';
import { runTrainer, type TrainerOptions } from './trainer-process.ts';

/** Scratch folder of one training run (git-ignored): tensors, manifest, trainer outputs. */
export const TRAINING_WORK_DIR = resolve('training/out');

export interface TrainModelRequest {
  readonly seriesName: string;
  readonly series: HourlySeries;
  readonly calendar: SeriesCalendar;
  readonly recipe: TrainingRecipe;
  readonly version: string;
  /** Training and validation targets end with this local day of the series. */
  readonly untilDay: number;
  /** Score the hours after training up to here (inclusive) with the ONNX model; null = no test. */
  readonly testTo: HourMs | null;
  /** Folder the model is published to (`<version>.onnx/.json/.parity.json`). */
  readonly modelDir: string;
  /** Recorded in the metadata: how to reproduce the model. */
  readonly command: string;
  readonly workDir?: string;
  readonly trainer?: TrainerOptions;
  readonly log?: (line: string) => void;
  /**
   * Choose the recipe on the series' own validation period first (auto-recipe.ts); `recipe` is then
   * only the search's starting point.
   */
  readonly search?: RecipeSearch;
  /** A weather model: its weather, and the calendar-only model that serves without weather. */
  readonly weather?: TrainingWeather & {
    readonly calendarModel?: string;
    /** Horizons 1…k served from the calendar-only model even with weather (metadata weather.calendarHorizons). */
    readonly calendarHorizons?: number;
  };
}

export interface TrainedModel {
  readonly metadata: ModelMetadata;
  readonly metadataPath: string;
  readonly parity: ParityResult;
  readonly backtest: BacktestReport | null;
  readonly workDir: string;
  /** The recipe the model was trained with (the search's choice when there was one). */
  readonly recipe: TrainingRecipe;
}

/** The tensors and manifest of one run, written, and what the steps after the trainer need of them. */
export interface PreparedTraining {
  /** Folder of the manifest, the tensors and (after the trainer) its outputs. */
  readonly workDir: string;
  readonly manifestPath: string;
  readonly manifest: TrainingManifest;
  /** Last target hour training and validation used (UTC ms). */
  readonly trainEnd: number;
  readonly trainingSpan: { readonly from: string; readonly to: string };
  readonly validationSpan: { readonly from: string; readonly to: string };
}

/**
 * One training run, end to end: tensors from the core's feature code → Python trainer → ONNX in the
 * model folder → parity of onnxruntime-node against PyTorch → optional test-period back-test through
 * the same adapter the service uses → metadata. Does not make the model anyone's default.
 */
export async function trainModel(request: TrainModelRequest): Promise<TrainedModel> {
  if (request.search) {
    const { run, search } = await searchRecipe(request, request.search);
    return finishTraining({ ...request, recipe: run.recipe }, run.prepared, run.report, search);
  }
  const prepared = await prepareTraining(request);
  const report = await runTrainer(prepared.manifestPath, prepared.manifest, request.trainer);
  return finishTraining(request, prepared, report);
}

/** A prepared run after the trainer, not yet published: what a recipe search compares. */
export interface TrainingRun {
  readonly recipe: TrainingRecipe;
  readonly prepared: PreparedTraining;
  readonly report: TrainingReport;
  /** Wall seconds of tensor export + trainer. */
  readonly seconds: number;
}

/** Tensors and the local trainer for `recipe`, as `version` in `<workRoot>/<version>`. */
export async function runTraining(
  request: TrainModelRequest,
  recipe: TrainingRecipe,
  version: string,
  workRoot: string,
): Promise<TrainingRun> {
  const started = Date.now();
  const prepared = await prepareTraining({ ...request, recipe, version, workDir: workRoot });
  const report = await runTrainer(prepared.manifestPath, prepared.manifest, request.trainer);
  return { recipe, prepared, report, seconds: (Date.now() - started) / 1000 };
}

/**
 * The first half of a run: the tensors and manifest in the run's folder. Between this and
 * `finishTraining` the trainer runs: here as a local process, in AWS as a managed training job
 * (training/sagemaker_entry.py) whose outputs are copied back into `workDir`.
 */
export async function prepareTraining(request: TrainModelRequest): Promise<PreparedTraining> {
  const log = request.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const workDir = join(request.workDir ?? TRAINING_WORK_DIR, request.version);
  const { recipe, series, calendar, version } = request;

  const dataset = await exportDataset({
    series,
    calendar,
    recipe,
    version,
    untilDay: request.untilDay,
    dir: workDir,
    ...(request.weather ? { weather: request.weather } : {}),
  });
  const { split, manifest } = dataset;
  log(
    `series ${request.seriesName} (${calendar.country ?? 'no holidays'}, ${calendar.timezone}): model ${version}`,
  );
  log(
    `training targets ${split.trainingSpan.from} … ${split.trainingSpan.to} (${split.train.length} windows)`,
  );
  log(
    `validation targets ${split.validationSpan.from} … ${split.validationSpan.to} (${split.validation.length} windows)`,
  );
  log(`tensors written to ${workDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    workDir,
    manifestPath: dataset.manifestPath,
    manifest,
    trainEnd: dataset.trainEnd,
    trainingSpan: split.trainingSpan,
    validationSpan: split.validationSpan,
  };
}

/**
 * The second half of a run, once the trainer's outputs (ONNX, parity forecast) are in
 * `prepared.workDir`: the model files, parity, the test back-test and the metadata.
 */
export async function finishTraining(
  request: TrainModelRequest,
  prepared: PreparedTraining,
  report: TrainingReport,
  /** How the recipe was chosen (recorded in the metadata), when it was searched. */
  search?: RecipeSearchRecord,
): Promise<TrainedModel> {
  const log = request.log ?? ((line: string) => console.log(line));
  const { recipe, series, calendar, version, modelDir } = request;
  const { workDir, manifest } = prepared;

  const onnx = await publishOnnx(modelDir, version, join(workDir, manifest.outputs.onnx));
  // A search trial was trained under its own name: the samples carry the published one.
  const samples = { ...(await readParitySamples(workDir, manifest)), version };
  const parityFile = await writeParitySamples(modelDir, samples);
  const lastHour = hourAt(series, series.values.length - 1);
  const testFrom = prepared.trainEnd + HOUR_MS;
  const testTo = request.testTo === null ? null : Math.min(request.testTo, lastHour);
  const history = manifest.inputs[0]!;
  const metadata: ModelMetadata = {
    version,
    createdAt: new Date().toISOString(),
    featuresVersion: FEATURES_VERSION,
    onnx: { ...onnx, opset: report.opset },
    inputs: manifest.inputs.map((input) =>
      input.role === 'history'
        ? {
            name: input.name,
            shape: ['batch', input.width],
            type: 'float32',
            description: 'raw hourly actuals in MWh, oldest first; last column = origin hour',
          }
        : input.name === 'weather'
          ? {
              name: input.name,
              shape: ['batch', input.width],
              type: 'float32',
              description: `weather features (${WEATHER_FEATURES_VERSION}), order in src/core/features.ts; standardised in the graph, zero where weather_available = 0`,
              columns: weatherFeatureNames(),
            }
          : {
              name: input.name,
              shape: ['batch', input.width],
              type: 'float32',
              description: 'calendar features, order in src/core/features.ts',
              columns: calendarFeatureNames(),
            },
    ),
    output: {
      name: 'forecast',
      shape: ['batch', manifest.horizons, manifest.quantiles.length],
      type: 'float32',
      description: `MWh for horizons 1…${manifest.horizons} × quantiles (order in "quantiles")`,
    },
    windowHours: history.width,
    horizons: manifest.horizons,
    quantiles: manifest.quantiles,
    series: request.seriesName,
    calendar,
    trainingSpan: prepared.trainingSpan,
    validationSpan: prepared.validationSpan,
    testSpan: testTo !== null && testFrom <= testTo ? { from: toIso(testFrom), to: toIso(testTo) } : null,
    testMetrics: null,
    training: {
      ...report,
      hyper: manifest.hyper,
      recipe,
      ...(search ? { search } : {}),
      command: request.command,
    },
    paritySamples: parityFile,
    ...(request.weather ? { weather: weatherMetadata(request.weather, prepared.trainingSpan.from) } : {}),
  };
  let metadataPath = await writeModelMetadata(modelDir, metadata);

  clearOnnxForecasterCache();
  const forecaster = await loadOnnxForecaster(modelDir, version);
  const parity = await checkParity(forecaster, samples);
  log(
    parity.ok
      ? `ONNX parity with PyTorch: ${parity.values} values agree`
      : `ONNX parity with PyTorch FAILED: worst excess ${parity.worstExcess} MWh`,
  );

  let backtest: BacktestReport | null = null;
  let final = metadata;
  if (metadata.testSpan && testTo !== null) {
    const t = Date.now();
    backtest = await runBacktest(series, { forecaster, calendar, from: testFrom, to: testTo });
    log(
      `test ${metadata.testSpan.from} … ${metadata.testSpan.to}: ${backtest.origins} origins scored in ${((Date.now() - t) / 1000).toFixed(2)} s`,
    );
    final = { ...metadata, testMetrics: summarizeBacktest(backtest) };
    metadataPath = await writeModelMetadata(modelDir, final);
    await writeFile(join(workDir, 'backtest.json'), JSON.stringify(backtest, null, 2));
  }
  return { metadata: final, metadataPath, parity, backtest, workDir, recipe };
}

/** The metadata's `weather` block: what serving must supply, and how the model was trained. */
function weatherMetadata(weather: NonNullable<TrainModelRequest['weather']>, from: string): ModelWeather {
  return {
    featuresVersion: WEATHER_FEATURES_VERSION,
    variables: ['temperature_2m'],
    locations: weather.locations.map((l) => ({
      name: l.name,
      latitude: l.latitude,
      longitude: l.longitude,
      weight: l.weight,
    })),
    trainingError: weather.error,
    history: { from, masked: false },
    ...(weather.calendarModel ? { calendarModel: weather.calendarModel } : {}),
    ...(weather.calendarHorizons ? { calendarHorizons: weather.calendarHorizons } : {}),
  };
}

import { dirname, join } from 'node:path';
import { isoOfDay } from '../../core/calendar/localTime.ts';
import type { HourlySeries } from '../../core/hourly-series.ts';
import { figuresOf } from '../../core/model-selection.ts';
import type { CandidateModel, ModelRegistryStore } from '../../core/ports/model-registry.ts';
import type { SeriesInfo } from '../../core/series.ts';
import { HOUR_MS, type HourMs } from '../../core/time.ts';
import type { ModelStore } from '../model-store/model-store.ts';
import { dataFingerprint } from './fingerprint.ts';
import type { RecipeSearch } from './auto-recipe.ts';
import type { TrainingRecipe } from './recipe.ts';
import { trainModel, TRAINING_WORK_DIR, type TrainedModel, type TrainModelRequest } from './train-model.ts';
import type { TrainerOptions } from './trainer-process.ts';

export interface CandidateRequest {
  readonly series: SeriesInfo;
  readonly actuals: HourlySeries;
  readonly recipe: TrainingRecipe;
  /** Training and validation targets end with this local day of the series. */
  readonly untilDay: number;
  /** Score the hours after training up to here with the ONNX model (the candidate's test figures). */
  readonly testTo: HourMs | null;
  readonly store: ModelStore;
  readonly registry: ModelRegistryStore;
  readonly command: string;
  readonly version?: string;
  readonly workDir?: string;
  readonly trainer?: TrainerOptions;
  readonly log?: (line: string) => void;
  /** Choose the recipe on the series' own validation period first; `recipe` is then the starting point. */
  readonly search?: RecipeSearch;
  /** Creation time (names the version); default now. */
  readonly now?: number;
}

export interface TrainedCandidate {
  readonly trained: TrainedModel;
  readonly candidate: CandidateModel;
}

/** `pulse-mlp-<series>-<last training day>-<creation time>`: unique per run, readable in the registry. */
export function candidateVersion(seriesName: string, untilDay: number, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15); // 20251201T0712
  return `pulse-mlp-${seriesName}-${isoOfDay(untilDay).replace(/-/g, '')}-${stamp}`;
}

/**
 * Trains a model for one series on its own calendar, publishes it to the model store and registers it
 * as a candidate with its training span, data fingerprint, recipe, validation (parity included) and
 * test figures. A model that fails parity is registered too (so the decision can name it), never promoted.
 */
export async function trainCandidate(request: CandidateRequest): Promise<TrainedCandidate> {
  const training = candidateTraining(request);
  const trained = await trainModel(training);
  return registerTrainedCandidate({ ...request, version: training.version }, trained);
}

/**
 * The training run of a candidate: its version (named now unless given) and the folder it is staged in
 * before the store. The managed cycle in AWS builds the same request in its two Lambdas
 * (src/adapters/lambda/retraining.ts), with the version fixed by the first.
 */
export function candidateTraining(
  request: Omit<CandidateRequest, 'store' | 'registry'>,
): TrainModelRequest & { version: string } {
  const { series, recipe } = request;
  const version =
    request.version ?? candidateVersion(series.name, request.untilDay, request.now ?? Date.now());
  const workRoot = request.workDir ?? TRAINING_WORK_DIR;
  return {
    seriesName: series.name,
    series: request.actuals,
    calendar: { country: series.country, timezone: series.timezone },
    recipe,
    version,
    untilDay: request.untilDay,
    testTo: request.testTo,
    modelDir: join(workRoot, version, 'publish'),
    command: request.command,
    workDir: workRoot,
    trainer: request.trainer,
    log: request.log,
    search: request.search,
  };
}

/** Publishes a trained model to the store and registers it as the series' candidate. */
export async function registerTrainedCandidate(
  request: CandidateRequest & { version: string },
  trained: TrainedModel,
): Promise<TrainedCandidate> {
  const { series, version } = request;
  const staging = dirname(trained.metadataPath);
  const storeUri = await request.store.publish(staging, version);
  const meta = trained.metadata;
  // The actuals the model saw: its first window's oldest hour through the end of validation.
  const seenFrom = Date.parse(meta.trainingSpan.from) - trained.recipe.windowHours * HOUR_MS;
  const seenTo = Date.parse(meta.validationSpan.to);
  const training = meta.training as { validation: object; search?: object };
  const candidate: CandidateModel = {
    version,
    seriesId: series.id,
    windowHours: meta.windowHours,
    horizons: meta.horizons,
    quantiles: meta.quantiles,
    sha256: meta.onnx.sha256,
    metadata: meta,
    trainingSpan: { from: meta.trainingSpan.from, to: meta.validationSpan.to },
    dataFingerprint: dataFingerprint(request.actuals, seenFrom, seenTo),
    // The recipe it was trained with (the search's choice), and how it was chosen.
    hyperParameters: training.search ? { ...trained.recipe, search: training.search } : trained.recipe,
    validation: { ...training.validation, parity: trained.parity },
    backtest: trained.backtest ? figuresOf(trained.backtest) : null,
    storeUri,
  };
  await request.registry.registerCandidate(candidate);
  return { trained, candidate };
}

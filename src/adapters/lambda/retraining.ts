import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { isoOfDay } from '../../core/calendar/localTime.ts';
import { ConfigurationError, InputError, ModelError } from '../../core/errors.ts';
import { SERIES_NAME } from '../../core/series.ts';
import { toIso } from '../../core/time.ts';
import { readTarGz } from '../archive/tar.ts';
import { openModelStore } from '../model-store/open.ts';
import { parseS3Uri } from '../model-store/s3-store.ts';
import { MetricUnit } from '../observability.ts';
import type { PostgresStores } from '../postgres/stores.ts';
import type { Runtime } from '../runtime.ts';
import { MANIFEST_FILE } from '../training/dataset-export.ts';
import {
  DEFAULT_RECIPE,
  RecordedRecipeSchema,
  TrainingRecipeSchema,
  type TrainingRecipe,
} from '../training/recipe.ts';
import {
  judgeChallenger,
  recordTrainingFailure,
  retrainingPeriod,
  servedModel,
  type ChallengerJudgement,
  type RetrainOutcome,
} from '../training/retraining-cycle.ts';
import {
  candidateTraining,
  candidateVersion,
  registerTrainedCandidate,
} from '../training/train-candidate.ts';
import { finishTraining, prepareTraining, type PreparedTraining } from '../training/train-model.ts';
import { readTrainingReport } from '../training/trainer-process.ts';
import { withFailureLogging, type Handler } from './handler.ts';

/**
 * The scheduled champion/challenger cycle in AWS (lib/retraining.ts): a Step Functions state machine
 * runs, per series, `prepare` (this file's training-data function: the tensors with the core's feature
 * code, to S3) → a SageMaker training job (training/sagemaker_entry.py around train.py) → `promote`
 * (the promotion function: parity, back-test of challenger and served model, decision, record). The
 * steps are the ones `pulse retrain` runs in one process (src/adapters/training/retraining-cycle.ts),
 * split where the trainer runs.
 */

/** The training job's input channel; training/sagemaker_entry.py reads the same name. */
export const TRAINING_CHANNEL = 'tensors';
/** Recorded in each model's metadata: how it was made. */
export const MANAGED_TRAINING_COMMAND =
  'scheduled retraining cycle (AWS Step Functions + SageMaker, lib/retraining.ts)';

const seriesName = z.string().regex(SERIES_NAME, { error: 'is not a valid series name' });
const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' });
const s3Uri = z
  .string()
  .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, { error: 'must be an s3:// URI' });

/** Everything the steps after `prepare` need, passed along by the state machine (a few hundred bytes). */
const TrainingJobSchema = z
  .object({
    series: seriesName,
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/),
    /** The SageMaker training job's name (≤ 63 characters, letters, digits and hyphens). */
    jobName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
    /** s3://…/training/<version>/input: the manifest and the tensors (the channel). */
    inputUri: s3Uri,
    /** s3://…/training/<version>/output: SageMaker writes <jobName>/output/model.tar.gz under it. */
    outputUri: s3Uri,
    untilDay: z.number().int(),
    backtestFrom: isoTime,
    backtestTo: isoTime,
    trainEnd: z.number(),
    trainingSpan: z.object({ from: z.string(), to: z.string() }),
    validationSpan: z.object({ from: z.string(), to: z.string() }),
    // A job handed on by the function before a deploy may lack the fields added since.
    recipe: RecordedRecipeSchema,
  })
  .strict();
export type TrainingJob = z.infer<typeof TrainingJobSchema>;

const ListEvent = z
  .object({ step: z.literal('list'), series: z.array(seriesName).min(1).nullable().optional() })
  .strict();
const PrepareEvent = z
  .object({ step: z.literal('prepare'), series: seriesName, startedAt: isoTime })
  .strict();
const PromoteEvent = z
  .object({ step: z.literal('promote'), job: TrainingJobSchema, modelArtifacts: s3Uri })
  .strict();
/** A step of the series failed (the state machine's Catch): `error` is Step Functions' {Error, Cause}. */
const FailedEvent = z
  .object({
    step: z.literal('failed'),
    series: seriesName,
    job: TrainingJobSchema.optional(),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, event: unknown, what: string): T {
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`,
    );
    throw new InputError(`invalid ${what} event: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function stepOf(event: unknown): unknown {
  return typeof event === 'object' && event !== null ? (event as { step?: unknown }).step : undefined;
}

/**
 * The SageMaker job of a version: `pulse-<series>-<hash>-<last training day>-<time>`, at most 63
 * characters of letters, digits and hyphens (series names may hold `_` and `.`; the hash keeps two
 * names that differ only there apart).
 */
export function trainingJobName(series: string, untilDay: number, startedAt: number): string {
  const slug = series
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 25)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(series).digest('hex').slice(0, 4);
  const stamp = new Date(startedAt).toISOString().replace(/[-:]/g, '').slice(0, 13); // 20261201T0337
  return `pulse-${slug || 'series'}-${hash}-${isoOfDay(untilDay).replace(/-/g, '')}-${stamp}`;
}

/**
 * The recipe of the managed cycle: RETRAIN_RECIPE (JSON, any recipe fields) over DEFAULT_RECIPE,
 * checked by the recipe's schema; a bad value is a ConfigurationError naming the variable and field.
 */
export function recipeFromSetting(text: string | undefined): TrainingRecipe {
  if (!text) return DEFAULT_RECIPE;
  let given: unknown;
  try {
    given = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`RETRAIN_RECIPE is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new ConfigurationError('RETRAIN_RECIPE: must be a JSON object of recipe fields');
  const parsed = TrainingRecipeSchema.strict().safeParse({ ...DEFAULT_RECIPE, ...given });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'recipe'}: ${i.message}`);
    throw new ConfigurationError(`RETRAIN_RECIPE: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export interface RetrainingOptions {
  /** Default: one client, created on first use. */
  readonly s3?: S3Client;
  /** The recipe per series. @default RETRAIN_RECIPE over DEFAULT_RECIPE */
  readonly recipe?: (series: { name: string }) => TrainingRecipe;
  /** Local scratch folder (Lambda: /tmp). */
  readonly workDir?: string;
  /** Recent local days champion and challenger are compared on. @default DEFAULT_BACKTEST_DAYS (56) */
  readonly backtestDays?: number;
}

async function s3Client(options: RetrainingOptions): Promise<{
  client: S3Client;
  sdk: typeof import('@aws-sdk/client-s3');
}> {
  const sdk = await import('@aws-sdk/client-s3');
  return { client: options.s3 ?? new sdk.S3Client({}), sdk };
}

function key(prefix: string, file: string): string {
  return prefix ? `${prefix}/${file}` : file;
}

/**
 * The training-data function: `{"step":"list"}` names the series of a cycle (every active series, or
 * the ones given); `{"step":"prepare","series":…,"startedAt":…}` reads the series' actuals, builds the
 * training tensors and manifest with the same code as `pulse train`, uploads them to
 * TRAINING_DATA_URI/<version>/input and returns the job the state machine starts.
 */
export function createTrainingDataHandler(
  runtime: Runtime,
  options: RetrainingOptions = {},
): Handler<unknown, { series: string[] } | TrainingJob> {
  const { logger, config } = runtime;
  let s3: Promise<Awaited<ReturnType<typeof s3Client>>> | undefined;
  return withFailureLogging('training-data', logger, async (event) => {
    if (stepOf(event) === 'list') {
      const { series } = parse(ListEvent, event, 'training-data');
      return runtime.withStores(async (stores) => {
        const active = await stores.registry.activeSeriesNames();
        if (!series) return { series: active };
        const unknown = series.filter((name) => !active.includes(name));
        if (unknown.length)
          throw new InputError(`invalid training-data event: series: not active: ${unknown.join(', ')}`);
        return { series };
      });
    }
    const { series: name, startedAt } = parse(PrepareEvent, event, 'training-data');
    if (!config.trainingDataUri)
      throw new ConfigurationError('function configuration: TRAINING_DATA_URI is not set');
    const { bucket, prefix } = parseS3Uri(config.trainingDataUri);
    const started = Date.parse(startedAt);
    const { series, actuals } = await runtime.withStores((stores) => stores.trainingActuals.read(name));
    const period = retrainingPeriod(series, actuals, options.backtestDays);
    const recipe = options.recipe ? options.recipe(series) : recipeFromSetting(config.retrainRecipe);
    const workRoot = join(options.workDir ?? tmpdir(), 'pulse-retraining');
    const request = candidateTraining({
      series,
      actuals,
      recipe,
      untilDay: period.untilDay,
      testTo: period.backtestTo,
      command: MANAGED_TRAINING_COMMAND,
      version: candidateVersion(series.name, period.untilDay, started),
      workDir: workRoot,
      log: (line) => logger.info(line, { series: series.name }),
    });
    const prepared = await prepareTraining(request);
    try {
      s3 ??= s3Client(options);
      const { client, sdk } = await s3;
      const inputPrefix = key(prefix, `${request.version}/input`);
      for (const file of (await readdir(prepared.workDir)).sort()) {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: `${inputPrefix}/${file}`,
            Body: await readFile(join(prepared.workDir, file)),
          }),
        );
      }
      const job: TrainingJob = {
        series: series.name,
        version: request.version,
        jobName: trainingJobName(series.name, period.untilDay, started),
        inputUri: `s3://${bucket}/${inputPrefix}`,
        outputUri: `s3://${bucket}/${key(prefix, `${request.version}/output`)}`,
        untilDay: period.untilDay,
        backtestFrom: toIso(period.backtestFrom),
        backtestTo: toIso(period.backtestTo),
        trainEnd: prepared.trainEnd,
        trainingSpan: prepared.trainingSpan,
        validationSpan: prepared.validationSpan,
        recipe,
      };
      logger.info('training data staged', {
        series: series.name,
        version: job.version,
        jobName: job.jobName,
        input: job.inputUri,
        trainingWindows: prepared.manifest.train.n,
        validationWindows: prepared.manifest.val.n,
      });
      return job;
    } finally {
      await rm(prepared.workDir, { recursive: true, force: true });
    }
  });
}

/** What the promotion function returns per series (the decision, without the figure sets). */
export type PromotionResult = Omit<RetrainOutcome, 'challengerFigures' | 'championFigures'>;

function failureReason(error: { Error?: string; Cause?: string }): string {
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; FailureReason?: string };
    cause = parsed.errorMessage ?? parsed.FailureReason ?? cause;
  } catch {
    // a plain string
  }
  return `${error.Error ?? 'error'}${cause ? `: ${cause}` : ''}`.slice(0, 1000);
}

/**
 * The promotion function. `{"step":"promote","job":…,"modelArtifacts":"s3://…/model.tar.gz"}`: fetches
 * the manifest, the parity inputs and the training job's outputs, then exactly what `pulse retrain`
 * does after its trainer: model files, parity, test back-test and metadata (finishTraining), publish to
 * the model store and register the candidate, back-test it and the served model on the same recent
 * weeks, decide and record. `{"step":"failed",…}`: a step of the series failed; the failure is recorded
 * as a decision that kept the served model, and `RetrainingFailedSeries` is published (alarmed on).
 */
export function createPromotionHandler(
  runtime: Runtime,
  options: RetrainingOptions = {},
): Handler<unknown, PromotionResult> {
  const { logger, metrics, config } = runtime;
  let s3: Promise<Awaited<ReturnType<typeof s3Client>>> | undefined;
  const store = () => {
    if (!config.modelStore) throw new ConfigurationError('function configuration: MODEL_STORE is not set');
    return openModelStore(config.modelStore, { s3: options.s3 });
  };
  const summary = (outcome: RetrainOutcome): PromotionResult => {
    const { challengerFigures: _c, championFigures: _s, ...rest } = outcome;
    return rest;
  };

  const download = async (uri: string): Promise<Uint8Array> => {
    s3 ??= s3Client(options);
    const { client, sdk } = await s3;
    const { bucket, prefix } = parseS3Uri(uri);
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: prefix }));
      if (!out.Body) throw new Error('empty body');
      return await out.Body.transformToByteArray();
    } catch (error) {
      throw new ModelError(`cannot read ${uri}: ${(error as Error).name}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };

  const judgement = async (
    stores: PostgresStores,
    name: string,
    job: TrainingJob | undefined,
  ): Promise<ChallengerJudgement> => {
    const { series, actuals } = await stores.trainingActuals.read(name);
    const modelStore = store();
    return {
      registry: stores.registry,
      store: modelStore,
      series,
      actuals,
      period: job
        ? {
            untilDay: job.untilDay,
            backtestFrom: Date.parse(job.backtestFrom),
            backtestTo: Date.parse(job.backtestTo),
          }
        : retrainingPeriod(series, actuals, options.backtestDays),
      served: await servedModel(series, { modelDir: config.modelDir, store: modelStore }),
      log: (line) => logger.info(line, { series: name }),
    };
  };

  return withFailureLogging('promotion', logger, async (event) => {
    if (stepOf(event) === 'failed') {
      const failed = parse(FailedEvent, event, 'promotion');
      const reason = failureReason(failed.error);
      const outcome = await runtime.withStores(async (stores) =>
        recordTrainingFailure(await judgement(stores, failed.series, failed.job), new Error(reason)),
      );
      logger.error('retraining of one series failed; its served model stays', {
        series: failed.series,
        version: failed.job?.version,
        reason,
      });
      metrics.addMetric('RetrainingFailedSeries', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return summary(outcome);
    }

    const { job, modelArtifacts } = parse(PromoteEvent, event, 'promotion');
    const workRoot = join(options.workDir ?? tmpdir(), 'pulse-retraining');
    const workDir = join(workRoot, job.version);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    try {
      // The manifest and the parity inputs the tensors came with, then the trainer's outputs.
      const manifestText = Buffer.from(await download(`${job.inputUri}/${MANIFEST_FILE}`)).toString('utf8');
      const prepared: PreparedTraining = {
        workDir,
        manifestPath: join(workDir, MANIFEST_FILE),
        manifest: JSON.parse(manifestText) as PreparedTraining['manifest'],
        trainEnd: job.trainEnd,
        trainingSpan: job.trainingSpan,
        validationSpan: job.validationSpan,
      };
      await writeFile(prepared.manifestPath, manifestText);
      for (const file of Object.values(prepared.manifest.parity.inputs)) {
        await writeFile(join(workDir, file), await download(`${job.inputUri}/${file}`));
      }
      for (const entry of readTarGz(await download(modelArtifacts), modelArtifacts)) {
        if (entry.name.includes('/')) continue; // the trainer writes flat
        await writeFile(join(workDir, entry.name), entry.data);
      }
      const report = await readTrainingReport(join(workDir, prepared.manifest.outputs.report));

      const outcome = await runtime.withStores(async (stores) => {
        const judged = await judgement(stores, job.series, job);
        const request = {
          series: judged.series,
          actuals: judged.actuals,
          recipe: job.recipe,
          untilDay: job.untilDay,
          testTo: judged.period.backtestTo,
          store: judged.store,
          registry: stores.registry,
          command: MANAGED_TRAINING_COMMAND,
          version: job.version,
          workDir: workRoot,
          log: judged.log,
        };
        const trained = await finishTraining(candidateTraining(request), prepared, report);
        const { candidate } = await registerTrainedCandidate({ ...request, version: job.version }, trained);
        return judgeChallenger(judged, candidate.version, trained.parity);
      });
      metrics.addMetric('RetrainingPromoted', MetricUnit.Count, outcome.promoted ? 1 : 0);
      metrics.publishStoredMetrics();
      logger.info('retraining decision recorded', { ...summary(outcome) });
      return summary(outcome);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
}

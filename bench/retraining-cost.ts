/**
 * The AWS cost of one retraining cycle per series (lib/retraining.ts). The two Lambda steps are measured
 * here on a Türkiye-sized synthetic series (10 years of hourly load, Türkiye's calendar, the default
 * recipe): the training-data step (tensors with the core's feature code, exactly prepareTraining) and the
 * promotion step's compute (three back-tests of a 4-member model over the 56 days: the candidate's test
 * and the decision's two; the shipped model stands in for the challenger). The trainer itself is not run
 * here (a real training takes minutes of both cores): its wall time is the one measured in docs/model.md.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOnnxForecaster } from '../src/adapters/onnx/forecaster.ts';
import { DEFAULT_RECIPE } from '../src/adapters/training/recipe.ts';
import { DEFAULT_BACKTEST_DAYS, retrainingPeriod } from '../src/adapters/training/retraining-cycle.ts';
import { prepareTraining } from '../src/adapters/training/train-model.ts';
import { runBacktest } from '../src/core/backtest.ts';
import { toHourlySeries } from '../src/core/hourly-series.ts';
import type { SeriesInfo } from '../src/core/series.ts';
import { generateSyntheticSeries, SYNTHETIC_CALENDAR } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';
import { RETRAINING_PRICES, retrainingCycleCost } from './cost.ts';
import { figure, type Section } from './figures.ts';
import { modelMissingSection, type BenchModel } from './model.ts';

/** Memory of both retraining Lambdas (lib/retraining.ts). */
const LAMBDA_MEMORY_MB = 3008;

/** Wall time of the trainer on the shipped recipe, measured on this machine when quiet (docs/model.md). */
export const TRAINER_SECONDS = 193;

/** Billable SageMaker time beyond the trainer: the image's layers and the tensors downloaded (assumed). */
const JOB_OVERHEAD_SECONDS = 60;

export async function benchRetrainingCost(model: BenchModel, years: number): Promise<Section> {
  const title = 'One retraining cycle per series';
  if (model.status !== 'present') return modelMissingSection('retraining', title, 'USD');
  const to = Date.UTC(2025, 11, 31, 20); // the last hour of 2025 in Istanbul
  const from = to - (years * 8766 - 1) * HOUR_MS;
  const actuals = toHourlySeries(
    generateSyntheticSeries({ from, to, calendar: SYNTHETIC_CALENDAR, seed: 5 }),
  );
  const series = { id: 1, name: 'bench', ...SYNTHETIC_CALENDAR } as SeriesInfo;
  const period = retrainingPeriod(series, actuals, DEFAULT_BACKTEST_DAYS);

  // The training-data step: the tensors and manifest, as the Lambda builds them before uploading.
  const work = mkdtempSync(join(tmpdir(), 'pulse-retraining-cost-'));
  let prepareSeconds: number;
  let tensorBytes: number;
  let tensorFiles: number;
  let windows: string;
  try {
    const t = performance.now();
    const prepared = await prepareTraining({
      seriesName: 'bench',
      series: actuals,
      calendar: SYNTHETIC_CALENDAR,
      recipe: DEFAULT_RECIPE,
      version: 'bench-challenger',
      untilDay: period.untilDay,
      testTo: period.backtestTo,
      modelDir: join(work, 'publish'),
      command: 'bench',
      workDir: work,
      log: () => undefined,
    });
    prepareSeconds = (performance.now() - t) / 1000;
    const files = readdirSync(prepared.workDir);
    tensorFiles = files.length;
    tensorBytes = files.reduce((sum, f) => sum + statSync(join(prepared.workDir, f)).size, 0);
    windows = `${prepared.manifest.train.n.toLocaleString('en')} training + ${prepared.manifest.val.n.toLocaleString('en')} validation windows`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // The promotion step's compute: three back-tests over the 56 days with a 4-member model.
  const forecaster = await loadOnnxForecaster(model.dir);
  const t = performance.now();
  let origins = 0;
  for (let i = 0; i < 3; i++) {
    const report = await runBacktest(actuals, {
      forecaster,
      calendar: SYNTHETIC_CALENDAR,
      from: period.backtestFrom,
      to: period.backtestTo,
    });
    origins = report.origins;
  }
  const promoteSeconds = (performance.now() - t) / 1000;

  const cost = retrainingCycleCost({
    trainerSeconds: TRAINER_SECONDS,
    jobOverheadSeconds: JOB_OVERHEAD_SECONDS,
    prepareSeconds,
    promoteSeconds,
    tensorBytes,
    tensorFiles,
    lambdaMemoryMb: LAMBDA_MEMORY_MB,
  });
  const $ = (x: number) => `$${x.toFixed(4)}`;
  return {
    id: 'retraining',
    title,
    method:
      `A ${years}-year synthetic series with Türkiye's calendar and the default recipe (window ${DEFAULT_RECIPE.windowHours} h, ` +
      `${DEFAULT_RECIPE.members} members, ${DEFAULT_RECIPE.epochs} epochs). The Lambda steps are measured here; the training job is ` +
      `the trainer's ${TRAINER_SECONDS} s measured in docs/model.md plus ${JOB_OVERHEAD_SECONDS} s of billable download (assumed) ` +
      `on ml.c5.xlarge at $${RETRAINING_PRICES.sagemakerC5XlargeHour}/h; Lambda ${LAMBDA_MEMORY_MB} MB arm64, Step Functions ` +
      `about 8 transitions, S3 requests and 30 days of the staged tensors.`,
    figures: [
      figure({
        id: 'retraining.prepare',
        label: 'Training-data step (tensors with the feature code)',
        value: prepareSeconds,
        unit: 's',
        note: `${windows}, ${tensorFiles} files, ${(tensorBytes / 1e6).toFixed(0)} MB staged`,
      }),
      figure({
        id: 'retraining.promote',
        label: "Promotion step's compute (3 back-tests over the recent period)",
        value: promoteSeconds,
        unit: 's',
        note: `${origins} origins each`,
      }),
      figure({
        id: 'retraining.wall',
        label: 'One cycle, wall time on this machine (trainer + both steps)',
        value: TRAINER_SECONDS + prepareSeconds + promoteSeconds,
        unit: 's',
        note: `the trainer's ${TRAINER_SECONDS} s from docs/model.md`,
      }),
      figure({
        id: 'retraining.cost',
        label: 'AWS cost of one cycle per series',
        value: cost.total!,
        unit: 'USD',
        note:
          `SageMaker ${$(cost.sagemaker!)}, Lambda ${$(cost.lambda!)}, Step Functions ${$(cost.stepFunctions!)}, S3 ${$(cost.s3!)}; ` +
          `$${(100 * cost.total!).toFixed(2)} per 100 series; monthly cycles: $${(12 * cost.total!).toFixed(3)} a year per series`,
      }),
    ],
  };
}

/**
 * npx tsx bench/retraining-cost.ts [--trainer-seconds 193] [--years 10]
 *
 * The AWS cost of one retraining cycle per series (lib/retraining.ts): the two Lambda steps are
 * measured here on a Türkiye-sized synthetic series (10 years of hourly load, Türkiye's calendar, the
 * default recipe): the training-data step (tensors with the core's feature code, exactly
 * prepareTraining) and the promotion step's compute (three back-tests of a 4-member model over the 56
 * days: the candidate's test and the decision's two; the shipped model stands in for the challenger).
 * The trainer itself is not run here (only the models engineer runs real trainings on this shared
 * machine): its wall time is the measured one in docs/model.md (the shipped recipe, 193 s on this
 * machine when quiet), given with --trainer-seconds. Prices and the other assumptions are printed.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
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

const { values: args } = parseArgs({
  options: {
    'trainer-seconds': { type: 'string', default: '193' },
    'overhead-seconds': { type: 'string', default: '60' },
    years: { type: 'string', default: '10' },
  },
});
const LAMBDA_MEMORY_MB = 3008; // lib/retraining.ts
const loadStart = loadavg();

const to = Date.UTC(2025, 11, 31, 20); // the last hour of 2025 in Istanbul
const from = to - (Number(args.years) * 8766 - 1) * HOUR_MS;
const actuals = toHourlySeries(generateSyntheticSeries({ from, to, calendar: SYNTHETIC_CALENDAR, seed: 5 }));
const series: SeriesInfo = {
  id: 1,
  name: 'bench',
  ...SYNTHETIC_CALENDAR,
} as SeriesInfo;
const period = retrainingPeriod(series, actuals, DEFAULT_BACKTEST_DAYS);

// The training-data step: the tensors and manifest, as the Lambda builds them before uploading.
const work = mkdtempSync(join(tmpdir(), 'pulse-retraining-cost-'));
let t = performance.now();
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
const prepareSeconds = (performance.now() - t) / 1000;
const files = readdirSync(prepared.workDir);
const tensorBytes = files.reduce((sum, f) => sum + statSync(join(prepared.workDir, f)).size, 0);
rmSync(work, { recursive: true, force: true });

// The promotion step's compute: three back-tests over the 56 days with a 4-member model.
const model = await loadOnnxForecaster('model-artifacts');
t = performance.now();
let origins = 0;
for (let i = 0; i < 3; i++) {
  const report = await runBacktest(actuals, {
    forecaster: model,
    calendar: SYNTHETIC_CALENDAR,
    from: period.backtestFrom,
    to: period.backtestTo,
  });
  origins = report.origins;
}
const promoteSeconds = (performance.now() - t) / 1000;

const inputs = {
  trainerSeconds: Number(args['trainer-seconds']),
  jobOverheadSeconds: Number(args['overhead-seconds']),
  prepareSeconds,
  promoteSeconds,
  tensorBytes,
  tensorFiles: files.length,
  lambdaMemoryMb: LAMBDA_MEMORY_MB,
};
const cost = retrainingCycleCost(inputs);
const $ = (x: number) => `$${x.toFixed(4)}`;
console.log(
  [
    `One retraining cycle per series (${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, load ${loadStart.map((l) => l.toFixed(1)).join('/')} at start, ${loadavg()
      .map((l) => l.toFixed(1))
      .join('/')} at end)`,
    `series: ${args.years} years synthetic, Türkiye calendar, default recipe (window ${DEFAULT_RECIPE.windowHours} h, ${DEFAULT_RECIPE.members} members, ${DEFAULT_RECIPE.epochs} epochs)`,
    `training-data step: ${prepareSeconds.toFixed(1)} s, ${prepared.manifest.train.n} training + ${prepared.manifest.val.n} validation windows, ${files.length} files, ${(tensorBytes / 1e6).toFixed(0)} MB staged`,
    `promotion step: ${promoteSeconds.toFixed(1)} s for 3 back-tests of ${origins} origins each`,
    `training job: trainer ${inputs.trainerSeconds} s (measured locally, docs/model.md) + ${inputs.jobOverheadSeconds} s billable download, on ml.c5.xlarge at $${RETRAINING_PRICES.sagemakerC5XlargeHour}/h`,
    `cost per series: SageMaker ${$(cost.sagemaker!)}, Lambda ${$(cost.lambda!)} (${LAMBDA_MEMORY_MB} MB arm64), Step Functions ${$(cost.stepFunctions!)}, S3 ${$(cost.s3!)}; total ${$(cost.total!)}`,
    `per 100 series: $${(100 * cost.total!).toFixed(2)} a cycle; monthly cycles: $${(12 * cost.total!).toFixed(3)} a year per series`,
  ].join('\n'),
);

/**
 * npx tsx bench/walk-forward.ts --series NAME [--year 2025] [--store DIR] [--out FILE.json]
 *                                [--recipe '{"h1Weight":24}'] [--search] [--backtest-days 56] [--months 12]
 *
 * Walk-forward of the champion/challenger cycle (issue 16) over one year: at the end of every month
 * (from the last day of the year before's December on, which is the shipped model's own cut) the cycle
 * runs exactly as `pulse retrain --series NAME --as-of <last day>` does (challenger trained on all but the
 * last `--backtest-days` days up to then, both back-tested on those days, promoted only by the policy,
 * recorded in the registry), and whatever the series is served afterwards forecasts every hour of the
 * next month (every hour an origin, targets in that month). The static model, the folder default the
 * series started with (the shipped model trained to the end of the year before), is scored on the very
 * same pairs. January is forecast by the static model in both columns (its cycle would be the one that
 * made it). A third column is the counterfactual without the promotion rule: each month forecast by the
 * newest challenger.
 *
 * Needs the series in the database (`pulse import ../shared/data/turkey.csv --series NAME`) with no
 * champion yet (use a fresh name to run again), and PyTorch (npm run setup:training). The database is the
 * CLI's: DATABASE_URL, else the local server on PULSE_DB_PORT. Each finished month is appended to --out,
 * and a run started again with the same --out and series resumes after the last finished month (one
 * cycle is one training: ~3.5 min for Türkiye on a quiet 2-core machine). The recipe is fixed
 * (DEFAULT_RECIPE, or --recipe over it) unless --search runs the automatic recipe in every cycle.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { LocalModelStore } from '../src/adapters/model-store/local-store.ts';
import { loadOnnxForecaster } from '../src/adapters/onnx/forecaster.ts';
import { PostgresModelRegistry } from '../src/adapters/postgres/model-registry.ts';
import { readTrainingActuals } from '../src/adapters/postgres/training-actuals.ts';
import { AUTO_RECIPE_SEARCH } from '../src/adapters/training/auto-recipe.ts';
import { DEFAULT_RECIPE, TrainingRecipeSchema } from '../src/adapters/training/recipe.ts';
import {
  DEFAULT_BACKTEST_DAYS,
  runRetrainingCycle,
  servedModel,
  type RetrainOutcome,
} from '../src/adapters/training/retraining-cycle.ts';
import { openDatabase } from '../src/cli/local-database.ts';
import { cliConfig } from '../src/cli/config.ts';
import { runBacktest, type BacktestReport } from '../src/core/backtest.ts';
import { dayOfIso, utcOfLocal } from '../src/core/calendar/localTime.ts';
import type { Forecaster } from '../src/core/forecaster.ts';
import { HOUR_MS, toIso } from '../src/core/time.ts';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string' },
    year: { type: 'string', default: '2025' },
    store: { type: 'string', default: '.pulse/walk-forward-models' },
    out: { type: 'string' },
    recipe: { type: 'string' },
    search: { type: 'boolean', default: false },
    'backtest-days': { type: 'string', default: String(DEFAULT_BACKTEST_DAYS) },
    months: { type: 'string', default: '12' },
  },
});
if (!args.series) throw new Error('--series NAME is required');
const name = args.series;
const year = Number(args.year);
const out = args.out ?? `/tmp/walk-forward-${name}-${year}.json`;
const recipe = TrainingRecipeSchema.strict().parse({
  ...DEFAULT_RECIPE,
  ...(args.recipe ? (JSON.parse(args.recipe) as object) : {}),
});
const backtestDays = Number(args['backtest-days']);
const months = Number(args.months);

/** Sums of one month's scored pairs, so months pool exactly (MAPE and coverage are means over pairs). */
interface Scored {
  readonly version: string;
  readonly n1: number;
  readonly ape1: number;
  readonly ae1: number;
  readonly n24: number;
  readonly ape24: number;
  readonly ae24: number;
  /** All horizons pooled: pairs and pairs inside the 10–90 % interval. */
  readonly nAll: number;
  readonly inside: number;
}

interface MonthResult {
  readonly month: string;
  /** The cycle run at the end of the month before (null for the first month). */
  readonly cycle: {
    readonly asOf: string;
    readonly promoted: boolean;
    readonly challenger: string | null;
    readonly reason: string;
    readonly seconds: number;
    readonly loadAverage: number;
  } | null;
  readonly served: Scored;
  readonly static: Scored;
  /**
   * The counterfactual "always serve the newest challenger" (no promotion rule): that month's cycle's
   * challenger, scored on the same pairs (January: the static model). Filled in after the months.
   */
  newest?: Scored;
}

function scored(report: BacktestReport): Scored {
  const h1 = report.horizons[0]!;
  const h24 = report.horizons[report.horizons.length - 1]!;
  return {
    version: report.modelVersion,
    n1: h1.model.n,
    ape1: (h1.model.mape / 100) * h1.model.n,
    ae1: h1.model.mae * h1.model.n,
    n24: h24.model.n,
    ape24: (h24.model.mape / 100) * h24.model.n,
    ae24: h24.model.mae * h24.model.n,
    nAll: report.overall.model.n,
    inside: report.overall.coverage * report.overall.model.n,
  };
}

function pooled(rows: readonly Scored[]) {
  const sum = (k: keyof Omit<Scored, 'version'>) => rows.reduce((s, r) => s + r[k], 0);
  return {
    mapeH1: (100 * sum('ape1')) / sum('n1'),
    maeH1: sum('ae1') / sum('n1'),
    mapeH24: (100 * sum('ape24')) / sum('n24'),
    maeH24: sum('ae24') / sum('n24'),
    coverage: (100 * sum('inside')) / sum('nAll'),
    pairsH1: sum('n1'),
  };
}

const fmt = (x: number, d: number) => x.toFixed(d);

const db = await openDatabase({ log: (line) => console.log(line) });
try {
  const registry = new PostgresModelRegistry(db.sql);
  const store = new LocalModelStore(args.store);
  const modelDir = cliConfig().modelDir;
  const { series, actuals } = await readTrainingActuals(db.sql, name);
  const done: MonthResult[] = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as MonthResult[]) : [];
  if (done.length === 0 && (await registry.championOf(series.id))) {
    throw new Error(
      `series ${name} already has a champion: run the walk-forward on a freshly imported series`,
    );
  }
  const tz = series.timezone;
  const firstDay = (m: number) =>
    dayOfIso(`${year + Math.floor((m - 1) / 12)}-${String(((m - 1) % 12) + 1).padStart(2, '0')}-01`);
  // The static model: what the series is served before any cycle (the folder default).
  let staticModel: Forecaster | null = null;
  const staticVersion = done[0]?.static.version;
  for (let m = 1; m <= months; m++) {
    const month = `${year}-${String(m).padStart(2, '0')}`;
    if (done.some((r) => r.month === month)) continue;
    let cycle: MonthResult['cycle'] = null;
    if (m > 1) {
      const asOfDay = firstDay(m) - 1;
      const load = loadavg()[0]!;
      const outcomes: RetrainOutcome[] = await runRetrainingCycle({
        sql: db.sql,
        store,
        modelDir,
        recipe: () => recipe,
        search: args.search ? AUTO_RECIPE_SEARCH : undefined,
        seriesNames: [name],
        backtestDays,
        asOfDay,
        command: `bench/walk-forward.ts --series ${name} (as of ${toIso(asOfDay * 24 * HOUR_MS).slice(0, 10)})`,
        log: (line) => console.log(line),
      });
      const o = outcomes[0]!;
      cycle = {
        asOf: toIso(asOfDay * 24 * HOUR_MS).slice(0, 10),
        promoted: o.promoted,
        challenger: o.challengerVersion,
        reason: o.reason,
        seconds: Math.round(o.seconds),
        loadAverage: Number(((load + loadavg()[0]!) / 2).toFixed(1)),
      };
    }
    const served = await servedModel(series, { modelDir, store });
    if (!staticModel) {
      // The first month's served model is the static one unless a resumed run already promoted.
      staticModel =
        staticVersion && staticVersion !== served.version ? await staticFrom(staticVersion) : served;
    }
    const from = utcOfLocal(tz, firstDay(m), 0);
    const to = utcOfLocal(tz, firstDay(m + 1), 0) - HOUR_MS;
    const minWindowHours = Math.max(served.windowHours, staticModel.windowHours);
    const score = async (model: Forecaster) =>
      scored(await runBacktest(actuals, { forecaster: model, calendar: series, from, to, minWindowHours }));
    const result: MonthResult = {
      month,
      cycle,
      served: await score(served),
      static: await score(staticModel),
    };
    done.push(result);
    writeFileSync(out, JSON.stringify(done, null, 2));
    const s = pooled([result.served]);
    const t = pooled([result.static]);
    console.log(
      `${month}: served ${result.served.version} 1 h ${fmt(s.mapeH1, 3)} % 24 h ${fmt(s.mapeH24, 3)} % coverage ${fmt(s.coverage, 1)} %` +
        ` | static 1 h ${fmt(t.mapeH1, 3)} % 24 h ${fmt(t.mapeH24, 3)} % coverage ${fmt(t.coverage, 1)} %` +
        (cycle
          ? ` | cycle ${cycle.promoted ? 'promoted' : 'kept'} (${cycle.seconds} s, load ${cycle.loadAverage})`
          : ''),
    );
  }
  // The newest challenger of each month, scored on that month (filled in for months without it).
  let newestVersion: string | null = null;
  const staticRef = staticModel ?? (done[0] ? await staticFrom(done[0].static.version) : null);
  for (const [i, r] of done.entries()) {
    newestVersion = r.cycle?.challenger ?? newestVersion;
    if (r.newest) continue;
    const m = i + 1;
    const model = newestVersion
      ? await loadOnnxForecaster(await store.fetch(newestVersion), newestVersion)
      : null;
    const reference = model ?? staticRef!;
    const from = utcOfLocal(tz, firstDay(m), 0);
    const to = utcOfLocal(tz, firstDay(m + 1), 0) - HOUR_MS;
    const minWindowHours = Math.max(reference.windowHours, staticRef!.windowHours);
    r.newest = scored(
      await runBacktest(actuals, { forecaster: reference, calendar: series, from, to, minWindowHours }),
    );
    writeFileSync(out, JSON.stringify(done, null, 2));
  }
  const s = pooled(done.map((r) => r.served));
  const t = pooled(done.map((r) => r.static));
  const n = pooled(done.map((r) => r.newest!));
  console.log(`\n${year}, ${s.pairsH1} targets per horizon (${name}, backtest-days ${backtestDays}):`);
  console.log('                     1 h MAPE   1 h MAE  24 h MAPE  24 h MAE  coverage (all horizons)');
  for (const [label, f] of [
    ['monthly cycle', s],
    ['static model', t],
    ['newest challenger', n],
  ] as const) {
    console.log(
      `${label.padEnd(18)} ${fmt(f.mapeH1, 3).padStart(8)} % ${fmt(f.maeH1, 1).padStart(8)} ${fmt(f.mapeH24, 3).padStart(8)} % ${fmt(f.maeH24, 1).padStart(8)} ${fmt(f.coverage, 1).padStart(8)} %`,
    );
  }
  console.log(
    `promotions: ${
      done
        .filter((r) => r.cycle?.promoted)
        .map((r) => r.cycle!.asOf)
        .join(', ') || 'none'
    }; results in ${out}`,
  );

  async function staticFrom(version: string): Promise<Forecaster> {
    return loadOnnxForecaster(modelDir, version);
  }
} finally {
  await db.close();
}

import { runBacktest } from '../../core/backtest.ts';
import { localHour, utcOfLocal } from '../../core/calendar/localTime.ts';
import type { Forecaster } from '../../core/forecaster.ts';
import { InputError } from '../../core/errors.ts';
import { hourAt, indexOf, type HourlySeries } from '../../core/hourly-series.ts';
import {
  decidePromotion,
  DEFAULT_PROMOTION_POLICY,
  figuresOf,
  type ChallengerChecks,
  type PromotionPolicy,
} from '../../core/model-selection.ts';
import type { ModelFigures } from '../../core/ports/model-registry.ts';
import type { SeriesInfo } from '../../core/series.ts';
import { HOUR_MS, toIso } from '../../core/time.ts';
import { createModelResolver } from '../model-resolver.ts';
import type { ModelStore } from '../model-store/model-store.ts';
import { loadOnnxForecaster } from '../onnx/forecaster.ts';
import type { Sql } from '../postgres/client.ts';
import { PostgresModelRegistry } from '../postgres/model-registry.ts';
import { readTrainingActuals } from '../postgres/training-actuals.ts';
import type { RecipeSearch } from './auto-recipe.ts';
import type { TrainingRecipe } from './recipe.ts';
import { trainCandidate } from './train-candidate.ts';
import type { TrainerOptions } from './trainer-process.ts';

/** The recent period champion and challenger are compared on: 8 weeks, every hour an origin. */
export const DEFAULT_BACKTEST_DAYS = 56;

/** When the cycle runs by itself (pulse serve): monthly, on this day of the month, at this UTC time. */
export const RETRAIN_SCHEDULE = { dayOfMonth: 1, hourUtc: 3, minute: 37 } as const;

/** True for the scheduled minute of a retraining cycle (`minute` is a UTC minute start). */
export function isRetrainingMinute(
  minute: number,
  dayOfMonth: number = RETRAIN_SCHEDULE.dayOfMonth,
): boolean {
  const t = new Date(minute);
  return (
    t.getUTCDate() === dayOfMonth &&
    t.getUTCHours() === RETRAIN_SCHEDULE.hourUtc &&
    t.getUTCMinutes() === RETRAIN_SCHEDULE.minute
  );
}

export interface RetrainOptions {
  readonly sql: Sql;
  readonly store: ModelStore;
  /** The shipped models (the default a series without a champion is served). */
  readonly modelDir: string;
  readonly recipe: (series: SeriesInfo) => TrainingRecipe;
  /** Choose each challenger's recipe on its own validation period (the automatic recipe); `recipe` is the start. */
  readonly search?: RecipeSearch;
  /** Series to retrain; default every active series. */
  readonly seriesNames?: readonly string[];
  readonly backtestDays?: number;
  readonly policy?: PromotionPolicy;
  readonly command: string;
  readonly trainer?: TrainerOptions;
  readonly workDir?: string;
  readonly log?: (line: string) => void;
  /** Names the challenger versions; default now. */
  readonly now?: number;
  /**
   * Run the cycle as at the end of this local day (days since 1970-01-01) of each series: actuals after
   * it are ignored, as if they had not arrived yet (a walk-forward, or re-running a past month's cycle).
   */
  readonly asOfDay?: number;
}

export interface RetrainOutcome {
  readonly series: string;
  readonly challengerVersion: string | null;
  /** What the series was served before the cycle (a champion, an assigned or the default model). */
  readonly servedVersion: string;
  readonly promoted: boolean;
  readonly reason: string;
  readonly challengerFigures: ModelFigures | null;
  readonly championFigures: ModelFigures | null;
  readonly decisionId: number;
  readonly seconds: number;
}

/** The days a cycle trains on and the recent period champion and challenger are compared on. */
export interface RetrainingPeriod {
  /** Training and validation targets end with this local day of the series. */
  readonly untilDay: number;
  /** First and last hour (UTC ms) of the back-test: the last `backtestDays` complete local days. */
  readonly backtestFrom: number;
  readonly backtestTo: number;
}

/** The period of a cycle over `actuals`: the back-test is the last `backtestDays` complete local days. */
export function retrainingPeriod(
  series: SeriesInfo,
  actuals: HourlySeries,
  backtestDays: number = DEFAULT_BACKTEST_DAYS,
): RetrainingPeriod {
  const lastHour = hourAt(actuals, actuals.values.length - 1);
  const lastDay = localHour(series.timezone, lastHour + HOUR_MS).day - 1;
  const untilDay = lastDay - backtestDays;
  return {
    untilDay,
    backtestFrom: utcOfLocal(series.timezone, untilDay + 1, 0),
    backtestTo: utcOfLocal(series.timezone, lastDay + 1, 0) - HOUR_MS,
  };
}

/** The actuals up to the end of local day `asOfDay` (all of them when undefined). */
export function actualsAsOf(
  series: SeriesInfo,
  actuals: HourlySeries,
  asOfDay: number | undefined,
): HourlySeries {
  if (asOfDay === undefined) return actuals;
  const end = indexOf(actuals, utcOfLocal(series.timezone, asOfDay + 1, 0));
  if (end <= 0)
    throw new InputError(`${series.name} has no actuals up to ${toIso(asOfDay * 24 * HOUR_MS).slice(0, 10)}`);
  return end >= actuals.values.length
    ? actuals
    : { start: actuals.start, values: actuals.values.subarray(0, end) };
}

/** The model a series is served now (its champion, an assigned or the default model), as the forecast loads it. */
export async function servedModel(
  series: SeriesInfo,
  options: { readonly modelDir: string; readonly store: ModelStore },
): Promise<Forecaster> {
  const resolver = await createModelResolver({
    modelDir: options.modelDir,
    store: options.store,
    allowBaselineDefault: true,
  });
  await resolver.prepare!([series]);
  return resolver.forecasterFor(series);
}

/** One series' cycle after its challenger was trained (or failed to be), as far as the decision. */
export interface ChallengerJudgement {
  readonly registry: PostgresModelRegistry;
  readonly store: ModelStore;
  readonly series: SeriesInfo;
  readonly actuals: HourlySeries;
  readonly period: RetrainingPeriod;
  /** What the series is served now (servedModel). */
  readonly served: Forecaster;
  readonly policy?: PromotionPolicy;
  readonly log?: (line: string) => void;
  /** When the series' cycle started (for `seconds`); default now. */
  readonly started?: number;
}

/** Records a decision (promoting the challenger when it won) and reports it. */
async function recordOutcome(
  judgement: ChallengerJudgement,
  challengerVersion: string | null,
  decision: { promoted: boolean; reason: string },
  challengerFigures: ModelFigures | null,
  championFigures: ModelFigures | null,
): Promise<RetrainOutcome> {
  const { registry, series, served, period } = judgement;
  const champion = await registry.championOf(series.id);
  const decisionId = await registry.recordDecision({
    seriesId: series.id,
    challengerVersion,
    championVersion: champion?.version ?? null,
    promoted: decision.promoted,
    reason: decision.reason,
    backtestFrom: toIso(period.backtestFrom),
    backtestTo: toIso(period.backtestTo),
    challengerFigures,
    championFigures,
  });
  if (decision.promoted && challengerVersion) {
    await registry.promote(series.id, challengerVersion, decision.reason);
  }
  const seconds = (Date.now() - (judgement.started ?? Date.now())) / 1000;
  (judgement.log ?? ((line: string) => console.log(line)))(
    `${series.name}: ${decision.promoted ? `promoted ${challengerVersion}` : `kept ${served.version}`} — ${decision.reason} (${seconds.toFixed(0)} s)`,
  );
  return {
    series: series.name,
    challengerVersion,
    servedVersion: served.version,
    promoted: decision.promoted,
    reason: decision.reason,
    challengerFigures,
    championFigures,
    decisionId,
    seconds,
  };
}

/** A challenger that could not be trained: recorded as a decision that kept what is served. */
export function recordTrainingFailure(judgement: ChallengerJudgement, error: Error): Promise<RetrainOutcome> {
  return recordOutcome(
    judgement,
    null,
    { promoted: false, reason: `training failed: ${error.message}` },
    null,
    null,
  );
}

/**
 * Loads the challenger from the store (as it would be served, with the contract checks), back-tests it
 * and the served model on the period's very same pairs, decides by the policy (parity and contract
 * first) and records the decision with both sets of figures.
 */
export async function judgeChallenger(
  judgement: ChallengerJudgement,
  version: string,
  parity: { ok: boolean; worstExcess: number },
): Promise<RetrainOutcome> {
  const { store, series, actuals, served, period } = judgement;
  let challenger: Forecaster | null = null;
  let checks: ChallengerChecks = {
    parityOk: parity.ok,
    contractOk: true,
    problem: parity.ok ? undefined : `worst excess ${parity.worstExcess} MWh`,
  };
  try {
    challenger = await loadOnnxForecaster(await store.fetch(version), version);
  } catch (error) {
    checks = { parityOk: parity.ok, contractOk: false, problem: (error as Error).message };
  }
  const windowHours = Math.max(served.windowHours, challenger?.windowHours ?? 0);
  const figures = async (model: Forecaster): Promise<ModelFigures | null> => {
    try {
      const report = await runBacktest(actuals, {
        forecaster: model,
        calendar: series,
        from: period.backtestFrom,
        to: period.backtestTo,
        minWindowHours: windowHours,
      });
      return report.origins > 0 ? figuresOf(report) : null;
    } catch {
      return null; // e.g. the served model cannot be loaded: nothing to compare with
    }
  };
  const challengerFigures = challenger ? await figures(challenger) : null;
  const championFigures = await figures(served);
  const decision = decidePromotion(
    challengerFigures,
    championFigures,
    checks,
    judgement.policy ?? DEFAULT_PROMOTION_POLICY,
  );
  return recordOutcome(judgement, version, decision, challengerFigures, championFigures);
}

/**
 * The champion/challenger cycle for each series: train a challenger on everything up to the last
 * `backtestDays` local days, back-test it and the model the series is served now on those days (every
 * hour an origin, the same pairs for both), promote it only by the policy (parity and contract first),
 * and record the decision with both sets of figures either way. One series failing does not stop the
 * others: its failure is recorded as a decision that kept the champion.
 */
export async function runRetrainingCycle(options: RetrainOptions): Promise<RetrainOutcome[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const registry = new PostgresModelRegistry(options.sql);
  const names = options.seriesNames ?? (await registry.activeSeriesNames());
  const outcomes: RetrainOutcome[] = [];
  for (const name of names) {
    const started = Date.now();
    const read = await readTrainingActuals(options.sql, name);
    const series = read.series;
    const actuals = actualsAsOf(series, read.actuals, options.asOfDay);
    const period = retrainingPeriod(series, actuals, options.backtestDays);
    const served = await servedModel(series, options);
    const judgement: ChallengerJudgement = {
      registry,
      store: options.store,
      series,
      actuals,
      period,
      served,
      policy: options.policy,
      log,
      started,
    };
    let trained: Awaited<ReturnType<typeof trainCandidate>>;
    try {
      trained = await trainCandidate({
        series,
        actuals,
        recipe: options.recipe(series),
        search: options.search,
        untilDay: period.untilDay,
        testTo: period.backtestTo,
        store: options.store,
        registry,
        command: options.command,
        trainer: options.trainer,
        workDir: options.workDir,
        log,
        now: options.now,
      });
    } catch (error) {
      outcomes.push(await recordTrainingFailure(judgement, error as Error));
      continue;
    }
    // What will be served is what the store holds: judged as loaded from there.
    outcomes.push(await judgeChallenger(judgement, trained.candidate.version, trained.trained.parity));
  }
  return outcomes;
}

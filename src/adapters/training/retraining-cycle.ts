import { runBacktest } from '../../core/backtest.ts';
import { localHour, utcOfLocal } from '../../core/calendar/localTime.ts';
import type { Forecaster } from '../../core/forecaster.ts';
import { hourAt } from '../../core/hourly-series.ts';
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
    const { series, actuals } = await readTrainingActuals(options.sql, name);
    const days = options.backtestDays ?? DEFAULT_BACKTEST_DAYS;
    const lastHour = hourAt(actuals, actuals.values.length - 1);
    const lastDay = localHour(series.timezone, lastHour + HOUR_MS).day - 1;
    const untilDay = lastDay - days;
    const backtestFrom = utcOfLocal(series.timezone, untilDay + 1, 0);
    const backtestTo = utcOfLocal(series.timezone, lastDay + 1, 0) - HOUR_MS;
    const resolver = await createModelResolver({
      modelDir: options.modelDir,
      store: options.store,
      allowBaselineDefault: true,
    });
    await resolver.prepare!([series]);
    const served = resolver.forecasterFor(series);
    const record = async (
      challengerVersion: string | null,
      decision: { promoted: boolean; reason: string },
      challengerFigures: ModelFigures | null,
      championFigures: ModelFigures | null,
    ): Promise<void> => {
      const champion = await registry.championOf(series.id);
      const decisionId = await registry.recordDecision({
        seriesId: series.id,
        challengerVersion,
        championVersion: champion?.version ?? null,
        promoted: decision.promoted,
        reason: decision.reason,
        backtestFrom: toIso(backtestFrom),
        backtestTo: toIso(backtestTo),
        challengerFigures,
        championFigures,
      });
      if (decision.promoted && challengerVersion) {
        await registry.promote(series.id, challengerVersion, decision.reason);
      }
      const seconds = (Date.now() - started) / 1000;
      log(
        `${series.name}: ${decision.promoted ? `promoted ${challengerVersion}` : `kept ${served.version}`} — ${decision.reason} (${seconds.toFixed(0)} s)`,
      );
      outcomes.push({
        series: series.name,
        challengerVersion,
        servedVersion: served.version,
        promoted: decision.promoted,
        reason: decision.reason,
        challengerFigures,
        championFigures,
        decisionId,
        seconds,
      });
    };

    let version: string;
    let parity: { ok: boolean; worstExcess: number };
    try {
      const { candidate, trained } = await trainCandidate({
        series,
        actuals,
        recipe: options.recipe(series),
        untilDay,
        testTo: backtestTo,
        store: options.store,
        registry,
        command: options.command,
        trainer: options.trainer,
        workDir: options.workDir,
        log,
        now: options.now,
      });
      version = candidate.version;
      parity = trained.parity;
    } catch (error) {
      await record(
        null,
        { promoted: false, reason: `training failed: ${(error as Error).message}` },
        null,
        null,
      );
      continue;
    }

    // What will be served is what the store holds: load it from there, with the contract checks.
    let challenger: Forecaster | null = null;
    let checks: ChallengerChecks = {
      parityOk: parity.ok,
      contractOk: true,
      problem: parity.ok ? undefined : `worst excess ${parity.worstExcess} MWh`,
    };
    try {
      challenger = await loadOnnxForecaster(await options.store.fetch(version), version);
    } catch (error) {
      checks = { parityOk: parity.ok, contractOk: false, problem: (error as Error).message };
    }
    const windowHours = Math.max(served.windowHours, challenger?.windowHours ?? 0);
    const figures = async (model: Forecaster): Promise<ModelFigures | null> => {
      try {
        const report = await runBacktest(actuals, {
          forecaster: model,
          calendar: series,
          from: backtestFrom,
          to: backtestTo,
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
      options.policy ?? DEFAULT_PROMOTION_POLICY,
    );
    await record(version, decision, challengerFigures, championFigures);
  }
  return outcomes;
}

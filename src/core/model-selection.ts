import type { BacktestReport } from './backtest.ts';
import type { ModelFigures } from './ports/model-registry.ts';
import { toIso } from './time.ts';

/**
 * Champion/challenger: when a retrained model replaces the one a series is served. Pure: the figures
 * come from back-tests of both models on the same recent period the challenger never trained or
 * early-stopped on.
 */

export interface PromotionPolicy {
  /** The challenger's 1 h and 24 h MAE must each be at least this much lower (relative), e.g. 0.02. */
  readonly margin: number;
  /** Holiday-hour 1 h MAE may be at most this much higher (relative) than the champion's. */
  readonly holidayTolerance: number;
  /** Nominal central coverage of the interval (10–90 % → 0.8). */
  readonly nominalCoverage: number;
  /** The challenger's distance from nominal coverage may exceed the champion's by at most this (absolute). */
  readonly coverageTolerance: number;
  /** Fewer scored origins than this and no decision is trusted: the challenger is not promoted. */
  readonly minOrigins: number;
}

/**
 * 2 % on MAE is about twice the seed-to-seed spread measured on Türkiye (docs/model.md); a tolerance of
 * one coverage point absorbs the noise of 8 weeks of intervals. "No worse on holiday hours" is strict.
 */
export const DEFAULT_PROMOTION_POLICY: PromotionPolicy = {
  margin: 0.02,
  holidayTolerance: 0,
  nominalCoverage: 0.8,
  coverageTolerance: 0.01,
  minOrigins: 24 * 7,
};

/** The figures a decision compares, from a back-test report. */
export function figuresOf(report: BacktestReport): ModelFigures {
  const h1 = report.horizons[0]!;
  const h24 = report.horizons[report.horizons.length - 1]!;
  const holiday = h1.byDayGroup.holiday;
  return {
    from: toIso(report.from),
    to: toIso(report.to),
    origins: report.origins,
    maeH1: h1.model.mae,
    maeH24: h24.model.mae,
    mapeH1: h1.model.mape,
    mapeH24: h24.model.mape,
    holidayMaeH1: holiday.n > 0 ? holiday.mae : null,
    holidayHours: holiday.n,
    coverage: report.overall.coverage,
    persistenceMaeH1: h1.persistence.mae,
  };
}

export interface ChallengerChecks {
  /** onnxruntime-node reproduces PyTorch on the parity samples. */
  readonly parityOk: boolean;
  /** The model loaded under the feature contract (sha256, inputs, features version). */
  readonly contractOk: boolean;
  /** Why a check failed, when one did. */
  readonly problem?: string;
}

export interface PromotionDecision {
  readonly promoted: boolean;
  readonly reason: string;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/**
 * Promote only if the challenger passed parity and the contract, and on the same period it is better
 * on 1 h and 24 h MAE by the margin, no worse on holiday hours and no further from nominal coverage.
 * Without a champion figure set (nothing to compare), a challenger that passed the checks is promoted.
 */
export function decidePromotion(
  challenger: ModelFigures | null,
  champion: ModelFigures | null,
  checks: ChallengerChecks,
  policy: PromotionPolicy = DEFAULT_PROMOTION_POLICY,
): PromotionDecision {
  if (!checks.contractOk)
    return { promoted: false, reason: `contract check failed: ${checks.problem ?? ''}`.trim() };
  if (!checks.parityOk)
    return { promoted: false, reason: `ONNX parity failed: ${checks.problem ?? ''}`.trim() };
  if (!challenger) return { promoted: false, reason: 'challenger could not be back-tested' };
  if (challenger.origins < policy.minOrigins) {
    return {
      promoted: false,
      reason: `only ${challenger.origins} origins in the back-test period (need ${policy.minOrigins})`,
    };
  }
  if (!champion) return { promoted: true, reason: 'no champion to compare with: first model of the series' };
  const failures: string[] = [];
  const better = (name: string, c: number, k: number) => {
    if (!(c <= k * (1 - policy.margin))) {
      failures.push(
        `${name} ${c.toFixed(1)} vs champion ${k.toFixed(1)} (needs ≤ ${(k * (1 - policy.margin)).toFixed(1)})`,
      );
    }
  };
  better('1 h MAE', challenger.maeH1, champion.maeH1);
  better('24 h MAE', challenger.maeH24, champion.maeH24);
  if (challenger.holidayMaeH1 !== null && champion.holidayMaeH1 !== null) {
    const limit = champion.holidayMaeH1 * (1 + policy.holidayTolerance);
    if (!(challenger.holidayMaeH1 <= limit)) {
      failures.push(
        `holiday 1 h MAE ${challenger.holidayMaeH1.toFixed(1)} vs champion ${champion.holidayMaeH1.toFixed(1)}`,
      );
    }
  }
  const gap = (c: number) => Math.abs(c - policy.nominalCoverage);
  // A champion without intervals (a baseline) sets no coverage bar.
  if (
    Number.isFinite(champion.coverage) &&
    !(gap(challenger.coverage) <= gap(champion.coverage) + policy.coverageTolerance)
  ) {
    failures.push(
      `coverage ${pct(challenger.coverage)} vs champion ${pct(champion.coverage)} (nominal ${pct(policy.nominalCoverage)})`,
    );
  }
  if (failures.length) return { promoted: false, reason: `kept the champion: ${failures.join('; ')}` };
  return {
    promoted: true,
    reason: `better by ≥ ${pct(policy.margin)}: 1 h MAE ${challenger.maeH1.toFixed(1)} vs ${champion.maeH1.toFixed(1)}, 24 h MAE ${challenger.maeH24.toFixed(1)} vs ${champion.maeH24.toFixed(1)}; coverage ${pct(challenger.coverage)} vs ${pct(champion.coverage)}`,
  };
}

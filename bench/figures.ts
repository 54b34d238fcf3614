import type { Spread } from './stats.ts';

/** A target from an issue: the measured value must be at most / at least `value`, or lie in a range. */
export type Target =
  | { readonly op: '<=' | '>='; readonly value: number; readonly source: string }
  | { readonly op: 'between'; readonly low: number; readonly high: number; readonly source: string };

export type Status = 'pass' | 'miss' | 'info' | 'skipped';

/** One measured figure, as written to results.json and printed beside its target. */
export interface Figure {
  readonly id: string;
  readonly label: string;
  /** Median when measured several times; null when skipped. */
  readonly value: number | null;
  readonly unit: string;
  readonly spread?: Spread;
  readonly target?: Target;
  readonly status: Status;
  readonly note?: string;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  /** How it was measured, one or two sentences for the Markdown. */
  readonly method: string;
  readonly figures: Figure[];
  readonly details?: unknown;
}

export function judge(value: number | null, target: Target | undefined): Status {
  if (value === null || !Number.isFinite(value)) return target ? 'skipped' : 'info';
  if (!target) return 'info';
  if (target.op === 'between') return value >= target.low && value <= target.high ? 'pass' : 'miss';
  if (target.op === '<=') return value <= target.value ? 'pass' : 'miss';
  return value >= target.value ? 'pass' : 'miss';
}

export interface FigureInput {
  readonly id: string;
  readonly label: string;
  readonly value: number | null;
  readonly unit: string;
  readonly spread?: Spread;
  readonly target?: Target;
  readonly note?: string;
}

export function figure(input: FigureInput): Figure {
  const value = input.value === null ? null : Number(input.value.toPrecision(5));
  return { ...input, value, status: judge(value, input.target) };
}

export function skipped(id: string, label: string, unit: string, note: string, target?: Target): Figure {
  return { id, label, value: null, unit, target, status: 'skipped', note };
}

/** Timing figure from a spread (median is the value). */
export function timing(
  id: string,
  label: string,
  spread: Spread,
  target?: Target,
  note?: string,
  unit = 'ms',
): Figure {
  return figure({ id, label, value: spread.median, unit, spread, target, note });
}

// Targets of the issues, in one place so the report and the code agree.
export const TARGETS = {
  warmRun1: { op: '<=', value: 15, source: 'issue 4' },
  warmRun1000: { op: '<=', value: 2000, source: 'issue 4' },
  coldStart: { op: '<=', value: 400, source: 'issue 4' },
  backfill8760: { op: '<=', value: 1000, source: 'issue 17' },
  backfillRatio: { op: '>=', value: 50, source: 'issue 17' },
  steadyEvaluation1000: { op: '<=', value: 300, source: 'issue 17' },
  steadyEvaluation10000: { op: '<=', value: 2000, source: 'issue 17' },
  forecastRun10000: { op: '<=', value: 6000, source: 'issue 17' },
  storageYear1000: { op: '<=', value: 15, source: 'issue 17' },
  evaluation8760: { op: '<=', value: 1000, source: 'issue 4' },
  inference8760: { op: '<=', value: 200, source: 'issue 9' },
  runtimeLayer: { op: '<=', value: 30, source: 'issue 5' },
  lambdaUnzipped: { op: '<=', value: 250, source: 'Lambda limit' },
  turkeyH1Mape: { op: '<=', value: 0.5, source: 'issue 9' },
  turkeyH1Mae: { op: '<=', value: 200, source: 'issue 9' },
  turkeyH1Rmse: { op: '<=', value: 290, source: 'issue 9' },
  turkeyHolidayMape: { op: '<=', value: 0.8, source: 'issue 9' },
  turkeyH24Mape: { op: '<=', value: 1.3, source: 'issue 9' },
  coverage: { op: 'between', low: 75, high: 85, source: 'issue 9' },
  persistenceRatio: { op: '>=', value: 5, source: 'issue 9' },
} as const satisfies Record<string, Target>;

export function describeTarget(t: Target | undefined, unit: string): string {
  if (!t) return '—';
  const u = unit === '×' ? '×' : unit ? ` ${unit}` : '';
  if (t.op === 'between') return `${t.low}–${t.high}${u} (${t.source})`;
  return `${t.op === '<=' ? '≤' : '≥'} ${t.value}${u} (${t.source})`;
}

/** Error summary of a set of scored forecasts. MAPE = mean(|y − ŷ| / y) · 100 over y > 0. */
export interface ErrorSummary {
  readonly n: number;
  readonly mae: number;
  readonly rmse: number;
  /** Percent. */
  readonly mape: number;
  /** Mean of (predicted − actual): positive = over-forecasting. */
  readonly bias: number;
}

/** Accumulates errors one pair at a time, so callers need not build arrays. */
export class ErrorAccumulator {
  private n = 0;
  private absSum = 0;
  private sqSum = 0;
  private pctSum = 0;
  private pctN = 0;
  private errSum = 0;

  add(predicted: number, actual: number): void {
    const error = predicted - actual;
    this.n++;
    this.errSum += error;
    this.absSum += Math.abs(error);
    this.sqSum += error * error;
    if (actual > 0) {
      this.pctSum += Math.abs(error) / actual;
      this.pctN++;
    }
  }

  summary(): ErrorSummary {
    const n = this.n;
    return {
      n,
      mae: n ? this.absSum / n : NaN,
      rmse: n ? Math.sqrt(this.sqSum / n) : NaN,
      mape: this.pctN ? (this.pctSum / this.pctN) * 100 : NaN,
      bias: n ? this.errSum / n : NaN,
    };
  }
}

export function summarizeErrors(predicted: ArrayLike<number>, actual: ArrayLike<number>): ErrorSummary {
  if (predicted.length !== actual.length) {
    throw new RangeError(`predicted has ${predicted.length} values but actual has ${actual.length}`);
  }
  const acc = new ErrorAccumulator();
  for (let i = 0; i < predicted.length; i++) acc.add(predicted[i]!, actual[i]!);
  return acc.summary();
}

/** Skill against a reference: 1 − MAE / MAE_reference (1 = perfect, 0 = no better, < 0 = worse). */
export function skillScore(mae: number, referenceMae: number): number {
  return referenceMae > 0 ? 1 - mae / referenceMae : NaN;
}

/**
 * Scores the naive forecast "the value `lagHours` before" over the hours in (from, to], looking values up
 * by timestamp; an hour is skipped when either value is missing. The yardstick every model must beat.
 */
export function scoreNaiveBaseline(
  rows: readonly { hour: number; value: number }[],
  lagHours: number,
  range: { after: number; until: number },
): ErrorSummary {
  const byHour = new Map<number, number>();
  for (const r of rows) byHour.set(r.hour, r.value);
  const acc = new ErrorAccumulator();
  for (const r of rows) {
    if (r.hour <= range.after || r.hour > range.until) continue;
    const previous = byHour.get(r.hour - lagHours * 3_600_000);
    if (previous !== undefined) acc.add(previous, r.value);
  }
  return acc.summary();
}

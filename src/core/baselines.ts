import type { Forecaster, ForecastResult, ForecastWindow } from './forecaster.ts';

/**
 * Honest baselines. They are the fallback when the model cannot be trusted with a window, and the
 * yardstick for skill. `seasonal-naive-Nh` repeats the value N hours before each target;
 * persistence repeats the newest value.
 */
export class SeasonalNaiveForecaster implements Forecaster {
  readonly version: string;
  readonly windowHours: number;

  constructor(
    readonly seasonHours: number,
    readonly horizons = 24,
  ) {
    this.version = seasonHours === 1 ? 'persistence' : `seasonal-naive-${seasonHours}h`;
    this.windowHours = seasonHours;
  }

  async forecast(windows: readonly ForecastWindow[]): Promise<ForecastResult[]> {
    return windows.map((w) => ({ values: seasonalNaive(w.values, this.seasonHours, this.horizons) }));
  }
}

/** Forecast for horizons 1…h: the value `season` hours before each target, repeating the last season. */
export function seasonalNaive(values: ArrayLike<number>, season: number, horizons: number): Float64Array {
  if (values.length < season) throw new RangeError(`need ${season} values, have ${values.length}`);
  const out = new Float64Array(horizons);
  const start = values.length - season;
  for (let h = 1; h <= horizons; h++) out[h - 1] = values[start + ((h - 1) % season)]!;
  return out;
}

export const persistence = new SeasonalNaiveForecaster(1);
export const seasonalNaive24 = new SeasonalNaiveForecaster(24);
export const seasonalNaive168 = new SeasonalNaiveForecaster(168);

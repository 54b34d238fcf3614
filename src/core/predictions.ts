import { HOUR_MS, type HourMs } from './time.ts';

export type Quality = 'ok' | 'fallback' | 'missed';

export type FallbackReason =
  | 'missing-hours'
  | 'flat-line'
  | 'implausible-value'
  | 'stale'
  | 'insufficient-history'
  | 'model-error'
  /** The assigned model could not be loaded (model store unreadable): another model stood in. */
  | 'model-unavailable'
  /** The series' time zone or country is invalid: its calendar features cannot be built. */
  | 'invalid-calendar'
  /** A weather model without usable weather and without a calendar-only model to fall back on. */
  | 'weather-missing';

/**
 * One forecast as it is made and stored (one row per origin since migration 0070): every horizon from the
 * window ending at `lastInputHour`, by one method, issued at `issuedAt`.
 */
export interface OriginForecast {
  readonly seriesId: number;
  /** The forecast stream: the model the series is assigned. */
  readonly modelVersion: string;
  readonly lastInputHour: HourMs;
  /** What produced the values: the model, or the baseline used instead. */
  readonly method: string;
  readonly issuedAt: number;
  readonly quality: Quality;
  readonly reason: string | null;
  /** Horizons 1 … horizons. */
  readonly horizons: number;
  /** Value by horizon (index 0 = horizon 1); null for a 'missed' forecast, which has none. */
  readonly values: ArrayLike<number> | null;
  /** The interval by horizon; null when there is none. */
  readonly lower: ArrayLike<number> | null;
  readonly upper: ArrayLike<number> | null;
}

/** The horizons of a forecast as prediction rows (the shape the views and the in-memory store keep). */
export function horizonRows(f: OriginForecast): PredictionRow[] {
  const rows: PredictionRow[] = new Array(f.horizons);
  for (let i = 0; i < f.horizons; i++) {
    rows[i] = {
      seriesId: f.seriesId,
      modelVersion: f.modelVersion,
      horizon: i + 1,
      targetHour: f.lastInputHour + (i + 1) * HOUR_MS,
      method: f.method,
      value: f.values ? f.values[i]! : null,
      lower: f.lower ? f.lower[i]! : null,
      upper: f.upper ? f.upper[i]! : null,
      issuedAt: f.issuedAt,
      lastInputHour: f.lastInputHour,
      quality: f.quality,
      reason: f.reason,
    };
  }
  return rows;
}

/** The forecasts (origin × horizon) a forecast holds: all horizons of a missed one, the valued ones of the others. */
export function forecastsIn(f: OriginForecast): number {
  if (!f.values) return f.horizons;
  let n = 0;
  for (let i = 0; i < f.horizons; i++) if (Number.isFinite(f.values[i])) n++;
  return n;
}

/** One stored forecast: the value for `targetHour`, issued from the window ending at `lastInputHour`. */
export interface PredictionRow {
  readonly seriesId: number;
  /** The forecast stream: the model the series is assigned. */
  readonly modelVersion: string;
  readonly horizon: number;
  readonly targetHour: HourMs;
  /** What produced the value: the model, or the baseline used instead. */
  readonly method: string;
  readonly value: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly issuedAt: number;
  readonly lastInputHour: HourMs;
  readonly quality: Quality;
  readonly reason: string | null;
}

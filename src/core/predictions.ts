import type { HourMs } from './time.ts';

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

import type { SeriesCalendar } from './forecaster.ts';
import type { HourMs } from './time.ts';

export interface SeriesInfo extends SeriesCalendar {
  readonly id: number;
  readonly name: string;
  readonly unit: string;
  /** Model the series is assigned; null = the default model. */
  readonly modelVersion: string | null;
  readonly minPlausible: number | null;
  readonly maxPlausible: number | null;
}

/** Hourly actuals of one series over [start, start + values.length hours); NaN marks a missing hour. */
export interface SeriesHistory {
  readonly series: SeriesInfo;
  readonly start: HourMs;
  readonly values: Float64Array;
}

export const SERIES_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

import type { HourMs } from './time.ts';
import type { WindowWeather } from './weather.ts';

/** What a forecaster needs to know about the series to build calendar features. */
export interface SeriesCalendar {
  /** ISO 3166-1 alpha-2 country code for the holiday calendar, e.g. 'TR', 'US', 'ES'; null = no holidays. */
  readonly country: string | null;
  /** IANA time zone of the load's daily rhythm, e.g. 'Europe/Istanbul'. */
  readonly timezone: string;
}

/** One forecast origin: the complete window of hourly actuals that ends at `origin`. */
export interface ForecastWindow {
  readonly seriesId: number;
  readonly calendar: SeriesCalendar;
  /** Hour start (UTC ms) of the newest actual in the window: the last input hour. */
  readonly origin: HourMs;
  /** `windowHours` values, oldest first; values[values.length - 1] is the actual of `origin`. No gaps. */
  readonly values: Float64Array;
  /** The series' weather around the origin, for weather models; absent = no weather known. */
  readonly weather?: WindowWeather;
}

/** Forecast for origin+1 … origin+horizons hours; index i is horizon i+1. */
export interface ForecastResult {
  readonly values: Float64Array;
  /** Optional prediction interval (e.g. 10 % and 90 % quantiles), same length as values. */
  readonly lower?: Float64Array;
  readonly upper?: Float64Array;
}

export interface Forecaster {
  /** Model version stored with every prediction, e.g. 'pulse-mlp-tr-2024' or 'seasonal-naive-168h'. */
  readonly version: string;
  /** Hours of history each window must hold. */
  readonly windowHours: number;
  /** Number of hours ahead it forecasts (1 … horizons). */
  readonly horizons: number;
  /** Forecasts many windows at once; result[i] belongs to windows[i]. */
  forecast(windows: readonly ForecastWindow[]): Promise<ForecastResult[]>;
  /**
   * Set when this forecaster stands in for a model that cannot be loaded (e.g. the model store is
   * unreadable and the shipped default serves instead): its forecasts are stored as fallbacks of the
   * assigned model's stream, with this method and reason, so the substitution is visible.
   */
  readonly substitution?: { readonly method: string; readonly reason: string };
  /**
   * Weather models: the calendar-only model that forecasts a window whose weather is missing or too old
   * (the forecast is labelled with the reason). Absent: the model takes no weather.
   */
  readonly weather?: { readonly calendarFallback: Forecaster | null };
}

import type { HourMs } from '../time.ts';
import type { LocationSeries, WeatherLocation, WeatherVariable } from '../weather.ts';
import type { WeatherHistory } from '../weather-history.ts';

/** One weather value. */
export interface WeatherValue {
  readonly location: string;
  readonly variable: WeatherVariable;
  readonly validHour: HourMs;
  readonly value: number;
}

/** A batch of weather to store: observed values, or one forecast vintage issued at `issuedAt`. */
export type WeatherBatch =
  | { readonly kind: 'observed'; readonly source: string; readonly values: readonly WeatherValue[] }
  | {
      readonly kind: 'forecast';
      readonly source: string;
      readonly issuedAt: number;
      readonly values: readonly WeatherValue[];
    };

export interface WeatherWriteResult {
  /** Values stored (new hours, or a forecast value that differs from the newest one held). */
  readonly inserted: number;
  /** Observed values that replaced a different stored value. */
  readonly revised: number;
  readonly unchanged: number;
}

export interface WeatherAsOfRequest {
  readonly locations: readonly string[];
  readonly variable: WeatherVariable;
  /** First and last valid hour (inclusive). */
  readonly from: HourMs;
  readonly to: HourMs;
  /** Only values issued at or before this time (the newest such per hour). */
  readonly asOf: number;
}

export interface WeatherStore {
  /** Inserts or updates locations by name. */
  upsertWeatherLocations(locations: readonly Omit<WeatherLocation, 'weight'>[]): Promise<void>;
  /** Stores a batch; a forecast value equal to the newest one held for its hour is not stored again. */
  writeWeather(batch: WeatherBatch): Promise<WeatherWriteResult>;
  /** Per location, hourly values over [from, to] as the store knew them at `asOf` (one query). */
  readWeatherAsOf(request: WeatherAsOfRequest): Promise<Map<string, LocationSeries>>;
  /**
   * Every stored value (observed, and every forecast vintage) of the locations over valid hours [from, to],
   * for back-tests that rebuild the weather of thousands of origins (one query).
   */
  readWeatherHistory(request: Omit<WeatherAsOfRequest, 'asOf'>): Promise<WeatherHistory>;
  /** Per location, the newest forecast vintage issued at or before `asOf` (one query). */
  latestWeatherIssues(locations: readonly string[], asOf: number): Promise<Map<string, number>>;
  /** Replaces the weather locations (with weights) a series follows. */
  setSeriesWeatherLocations(
    seriesId: number,
    locations: readonly { name: string; weight: number }[],
  ): Promise<void>;
  /** Per series id asked for (all active series when undefined), its weather locations with weights (one query). */
  seriesWeatherLocations(seriesIds?: readonly number[]): Promise<Map<number, WeatherLocation[]>>;
}

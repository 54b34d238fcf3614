import type { HourMs } from '../time.ts';
import type { WeatherLocation } from '../weather.ts';
import type { WeatherValue } from './weather.ts';

export interface WeatherForecastRequest {
  readonly locations: readonly Omit<WeatherLocation, 'weight'>[];
  /** When the request is made: the vintage's issue time, and the hour the forecast must cover from. */
  readonly now: number;
  /** Hours ahead of `now` the forecast must reach (48 by default). */
  readonly hoursAhead: number;
}

export interface FetchedWeatherForecast {
  readonly issuedAt: number;
  /** Valid values only (finite, in range, on the hour). */
  readonly values: WeatherValue[];
  /** Locations the answer held nothing usable for, or too few hours, with the reason. */
  readonly incomplete: readonly { readonly location: string; readonly reason: string }[];
  /** First and last valid hour delivered. */
  readonly from: HourMs | null;
  readonly to: HourMs | null;
}

/**
 * Where the ingest function gets weather forecasts from. Throws a SourceError (naming the source, never
 * a key) when the whole answer is unusable (unreachable, refused, malformed, stale); a partial answer is
 * returned with its gaps listed in `incomplete`.
 */
export interface WeatherSource {
  readonly name: string;
  fetch(request: WeatherForecastRequest, signal?: AbortSignal): Promise<FetchedWeatherForecast>;
}

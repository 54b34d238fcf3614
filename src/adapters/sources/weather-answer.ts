import type { WeatherValue } from '../../core/ports/weather.ts';
import type {
  FetchedWeatherForecast,
  WeatherForecastRequest,
  WeatherSource,
} from '../../core/ports/weather-source.ts';
import { floorToHour, HOUR_MS, toIso } from '../../core/time.ts';
import type { WeatherVariable } from '../../core/weather.ts';
import type { SourceClient } from './transport.ts';

/** Hours before now every weather fetch also asks for, so the newest past hours are filled too. */
export const WEATHER_FETCH_PAST_HOURS = 6;

/** Latitude and longitude of every location, as comma-separated lists in request order (4 decimals). */
export function setCoordinates(url: URL, locations: WeatherForecastRequest['locations']): void {
  url.searchParams.set('latitude', locations.map((l) => l.latitude.toFixed(4)).join(','));
  url.searchParams.set('longitude', locations.map((l) => l.longitude.toFixed(4)).join(','));
}

/**
 * What every HTTP weather source shares: a request without locations asks for nothing, and every
 * SourceError leaves with the source's secrets removed (SourceClient.guard).
 */
export abstract class HttpWeatherSourceBase implements WeatherSource {
  abstract readonly name: string;
  protected abstract readonly client: SourceClient;

  async fetch(request: WeatherForecastRequest, signal?: AbortSignal): Promise<FetchedWeatherForecast> {
    if (request.locations.length === 0)
      return { issuedAt: request.now, values: [], incomplete: [], from: null, to: null };
    return this.client.guard(() => this.fetchAll(request, signal));
  }

  /** One request for all locations of `request` (at least one). */
  protected abstract fetchAll(
    request: WeatherForecastRequest,
    signal: AbortSignal | undefined,
  ): Promise<FetchedWeatherForecast>;
}

/** Plausible values per variable; anything outside is a provider error, not weather. */
const RANGES: Record<WeatherVariable, readonly [number, number]> = {
  temperature_2m: [-80, 65],
  relative_humidity_2m: [0, 100],
  cloud_cover: [0, 100],
};

/**
 * What every weather source makes of an answer: the usable values, the locations it left incomplete and
 * why, and the two refusals of the whole answer (nothing usable; stale, i.e. not reaching the current hour).
 * Numeric strings are not values here: weather APIs send numbers.
 */
export class WeatherAnswer {
  private readonly values: WeatherValue[] = [];
  private readonly incomplete: { location: string; reason: string }[] = [];
  private readonly malformed = new Map<string, number>();
  private readonly lastTemperature = new Map<string, number>();
  private from = Infinity;
  private to = -Infinity;

  constructor(private readonly request: WeatherForecastRequest) {}

  /** One value; null or undefined is a gap the provider left, anything else outside the range is malformed. */
  add(location: string, variable: WeatherVariable, hour: number, raw: unknown): void {
    if (raw === null || raw === undefined) return;
    const [lo, hi] = RANGES[variable];
    if (typeof raw !== 'number' || !(raw >= lo && raw <= hi)) return this.reject(location);
    this.values.push({ location, variable, validHour: hour, value: raw });
    if (variable === 'temperature_2m')
      this.lastTemperature.set(location, Math.max(this.lastTemperature.get(location) ?? -Infinity, hour));
    this.from = Math.min(this.from, hour);
    this.to = Math.max(this.to, hour);
  }

  /** A value (or a row's time) that could not be used. */
  reject(location: string, count = 1): void {
    this.malformed.set(location, (this.malformed.get(location) ?? 0) + count);
  }

  /** No value kept so far. */
  isEmpty(): boolean {
    return this.values.length === 0;
  }

  /** A location the answer left incomplete, with the reason. */
  gap(location: string, reason: string): void {
    this.incomplete.push({ location, reason });
  }

  /** After a location's values: how many were left out, and whether its temperatures reach far enough. */
  closeLocation(location: string): void {
    const bad = this.malformed.get(location) ?? 0;
    if (bad > 0) this.gap(location, `${bad} malformed or out-of-range values left out`);
    const needUntil = floorToHour(this.request.now) + this.request.hoursAhead * HOUR_MS;
    const last = this.lastTemperature.get(location) ?? -Infinity;
    if (last < needUntil) {
      this.gap(
        location,
        last === -Infinity
          ? 'no temperatures'
          : `temperatures end at ${toIso(last)}, before ${toIso(needUntil)} (${this.request.hoursAhead} h ahead)`,
      );
    }
  }

  /** The fetched forecast, issued now; `fail` throws the source's error for an answer refused whole. */
  finish(fail: (message: string) => never): FetchedWeatherForecast {
    const { locations, now } = this.request;
    if (this.values.length === 0) fail(`no usable values for any of ${locations.length} locations`);
    // An answer that does not reach the current hour is an old forecast served again (a stale cache).
    if (this.to < floorToHour(now))
      fail(
        `stale answer: the newest hour is ${toIso(this.to)}, before the current hour ${toIso(floorToHour(now))}`,
      );
    return {
      issuedAt: now,
      values: this.values,
      incomplete: this.incomplete,
      from: this.from,
      to: this.to,
    };
  }
}

import { SourceError } from '../../core/errors.ts';
import type { WeatherValue } from '../../core/ports/weather.ts';
import type {
  FetchedWeatherForecast,
  WeatherForecastRequest,
  WeatherSource,
} from '../../core/ports/weather-source.ts';
import { floorToHour, HOUR_MS, toIso } from '../../core/time.ts';
import { WEATHER_VARIABLES, type WeatherVariable } from '../../core/weather.ts';
import { SourceClient, type TransportOptions } from './transport.ts';

/** The free endpoint; the commercial tier is https://customer-api.open-meteo.com/v1/forecast with an API key. */
export const OPEN_METEO_DEFAULT_URL = 'https://api.open-meteo.com/v1/forecast';
/** Hours ahead each fetch asks for (the model needs 24; the rest bridges a missed fetch or two). */
export const OPEN_METEO_HOURS_AHEAD = 48;
/** Hours before now also asked for, so the newest past hours are filled too. */
export const OPEN_METEO_PAST_HOURS = 6;

const RANGES: Record<WeatherVariable, readonly [number, number]> = {
  temperature_2m: [-80, 65],
  relative_humidity_2m: [0, 100],
  cloud_cover: [0, 100],
};

export interface OpenMeteoOptions {
  /** Forecast endpoint (free or commercial). */
  readonly url?: string;
  /** Commercial-tier key (sent as `apikey`; never logged). */
  readonly apiKey?: string;
  /** Weather model, e.g. 'ecmwf_ifs025'; default: Open-Meteo's best match. */
  readonly model?: string;
  readonly transport?: TransportOptions;
}

interface LocationAnswer {
  readonly hourly?: Record<string, unknown>;
  readonly error?: unknown;
  readonly reason?: unknown;
}

/**
 * Open-Meteo's forecast API: one request for all locations (comma-separated latitude/longitude lists;
 * the answer is an array in the same order), hourly temperature_2m, relative_humidity_2m and cloud_cover,
 * `past_hours` before and `forecast_hours` after now, times as Unix seconds (UTC).
 */
export class OpenMeteoWeatherSource implements WeatherSource {
  readonly name = 'open-meteo';
  private readonly url: string;
  private readonly client: SourceClient;

  constructor(private readonly options: OpenMeteoOptions = {}) {
    this.url = options.url ?? OPEN_METEO_DEFAULT_URL;
    this.client = new SourceClient(this.name, options.transport, () => [options.apiKey]);
  }

  fetch(request: WeatherForecastRequest, signal?: AbortSignal): Promise<FetchedWeatherForecast> {
    return this.client.guard(() => this.fetchAll(request, signal));
  }

  private async fetchAll(
    request: WeatherForecastRequest,
    signal: AbortSignal | undefined,
  ): Promise<FetchedWeatherForecast> {
    const { locations } = request;
    if (locations.length === 0)
      return { issuedAt: request.now, values: [], incomplete: [], from: null, to: null };
    const url = new URL(this.url);
    url.searchParams.set('latitude', locations.map((l) => l.latitude.toFixed(4)).join(','));
    url.searchParams.set('longitude', locations.map((l) => l.longitude.toFixed(4)).join(','));
    url.searchParams.set('hourly', WEATHER_VARIABLES.join(','));
    url.searchParams.set('past_hours', String(OPEN_METEO_PAST_HOURS));
    url.searchParams.set('forecast_hours', String(Math.max(request.hoursAhead, 24) + 1));
    url.searchParams.set('timeformat', 'unixtime');
    url.searchParams.set('timezone', 'GMT');
    if (this.options.model) url.searchParams.set('models', this.options.model);
    if (this.options.apiKey) url.searchParams.set('apikey', this.options.apiKey);
    const req = { method: 'GET' as const, url };
    const where = this.client.where(req);
    const fail = (message: string): never => {
      throw new SourceError(`${where}: ${message}`);
    };

    const reply = await this.client.send(req, signal);
    let body: unknown;
    try {
      body = JSON.parse(reply.text);
    } catch {
      fail(`HTTP ${reply.status}: the answer is not JSON`);
    }
    if (reply.status !== 200) {
      const reason = (body as LocationAnswer | null)?.reason;
      const hint =
        reply.status === 401 || reply.status === 403 ? ' (check the API key in the weather secret)' : '';
      fail(`HTTP ${reply.status}${typeof reason === 'string' ? `: ${reason.slice(0, 200)}` : ''}${hint}`);
    }
    // One location answers with an object, several with an array in request order.
    const answers = (Array.isArray(body) ? body : [body]) as LocationAnswer[];
    if (answers.length > locations.length)
      fail(`${answers.length} answers for ${locations.length} locations`);

    const now = floorToHour(request.now);
    const needUntil = now + request.hoursAhead * HOUR_MS;
    const values: WeatherValue[] = [];
    const incomplete: { location: string; reason: string }[] = [];
    let from = Infinity;
    let to = -Infinity;
    locations.forEach((location, i) => {
      const answer = answers[i];
      const hourly = answer?.hourly;
      if (!answer || typeof hourly !== 'object' || hourly === null) {
        incomplete.push({
          location: location.name,
          reason: answer ? 'no hourly data' : 'missing from the answer',
        });
        return;
      }
      const times = hourly.time;
      if (!Array.isArray(times)) {
        incomplete.push({ location: location.name, reason: 'hourly.time is not a list' });
        return;
      }
      let last = -Infinity;
      let bad = 0;
      for (const variable of WEATHER_VARIABLES) {
        const series = hourly[variable];
        if (!Array.isArray(series)) {
          incomplete.push({ location: location.name, reason: `no ${variable}` });
          continue;
        }
        const [lo, hi] = RANGES[variable];
        for (let k = 0; k < times.length; k++) {
          const t = times[k];
          const v = series[k];
          if (typeof t !== 'number' || !Number.isInteger(t) || (t * 1000) % HOUR_MS !== 0) {
            bad++;
            continue;
          }
          if (v === null || v === undefined) continue; // a gap the provider left
          if (typeof v !== 'number' || !(v >= lo && v <= hi)) {
            bad++;
            continue;
          }
          const hour = t * 1000;
          values.push({ location: location.name, variable, validHour: hour, value: v });
          if (variable === 'temperature_2m') last = Math.max(last, hour);
          from = Math.min(from, hour);
          to = Math.max(to, hour);
        }
      }
      if (bad > 0)
        incomplete.push({
          location: location.name,
          reason: `${bad} malformed or out-of-range values left out`,
        });
      if (last < needUntil) {
        incomplete.push({
          location: location.name,
          reason:
            last === -Infinity
              ? 'no temperatures'
              : `temperatures end at ${toIso(last)}, before ${toIso(needUntil)} (${request.hoursAhead} h ahead)`,
        });
      }
    });
    if (values.length === 0) fail(`no usable values for any of ${locations.length} locations`);
    // An answer that does not reach the current hour is an old forecast served again (a stale cache).
    if (to < now)
      fail(`stale answer: the newest hour is ${toIso(to)}, before the current hour ${toIso(now)}`);
    return { issuedAt: request.now, values, incomplete, from, to };
  }
}

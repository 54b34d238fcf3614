import { SourceError } from '../../core/errors.ts';
import type { FetchedWeatherForecast, WeatherForecastRequest } from '../../core/ports/weather-source.ts';
import { HOUR_MS } from '../../core/time.ts';
import { WEATHER_VARIABLES } from '../../core/weather.ts';
import { SourceClient, type TransportOptions } from './transport.ts';
import {
  HttpWeatherSourceBase,
  setCoordinates,
  WEATHER_FETCH_PAST_HOURS,
  WeatherAnswer,
} from './weather-answer.ts';

/** The free endpoint; the commercial tier is https://customer-api.open-meteo.com/v1/forecast with an API key. */
export const OPEN_METEO_DEFAULT_URL = 'https://api.open-meteo.com/v1/forecast';
/** Hours ahead each fetch asks for (the model needs 24; the rest bridges a missed fetch or two). */
export const OPEN_METEO_HOURS_AHEAD = 48;

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
export class OpenMeteoWeatherSource extends HttpWeatherSourceBase {
  readonly name = 'open-meteo';
  private readonly url: string;
  protected readonly client: SourceClient;

  constructor(private readonly options: OpenMeteoOptions = {}) {
    super();
    this.url = options.url ?? OPEN_METEO_DEFAULT_URL;
    this.client = new SourceClient(this.name, options.transport, () => [options.apiKey]);
  }

  protected async fetchAll(
    request: WeatherForecastRequest,
    signal: AbortSignal | undefined,
  ): Promise<FetchedWeatherForecast> {
    const { locations } = request;
    const url = new URL(this.url);
    setCoordinates(url, locations);
    url.searchParams.set('hourly', WEATHER_VARIABLES.join(','));
    url.searchParams.set('past_hours', String(WEATHER_FETCH_PAST_HOURS));
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

    const answer = new WeatherAnswer(request);
    locations.forEach((location, i) => {
      const one = answers[i];
      const hourly = one?.hourly;
      if (!one || typeof hourly !== 'object' || hourly === null) {
        answer.gap(location.name, one ? 'no hourly data' : 'missing from the answer');
        return;
      }
      const times = hourly.time;
      if (!Array.isArray(times)) {
        answer.gap(location.name, 'hourly.time is not a list');
        return;
      }
      for (const variable of WEATHER_VARIABLES) {
        const series = hourly[variable];
        if (!Array.isArray(series)) {
          answer.gap(location.name, `no ${variable}`);
          continue;
        }
        for (let k = 0; k < times.length; k++) {
          const t = times[k];
          if (typeof t !== 'number' || !Number.isInteger(t) || (t * 1000) % HOUR_MS !== 0) {
            answer.reject(location.name);
            continue;
          }
          answer.add(location.name, variable, t * 1000, series[k]);
        }
      }
      answer.closeLocation(location.name);
    });
    return answer.finish(fail);
  }
}

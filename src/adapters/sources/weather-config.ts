import { z } from 'zod';
import { ConfigurationError } from '../../core/errors.ts';
import type { WeatherSource } from '../../core/ports/weather-source.ts';
import { secureUrl } from '../../core/series-config.ts';
import { WEATHER_VARIABLES, type WeatherVariable } from '../../core/weather.ts';
import { describeIssues, dottedPath, nonEmpty, optional } from './config.ts';
import { HttpWeatherSource, type HttpWeatherMapping } from './http-weather.ts';
import { OpenMeteoWeatherSource } from './open-meteo.ts';
import type { TransportOptions } from './transport.ts';

/** The generic HTTPS weather source's settings (WEATHER_SOURCE=http). */
export interface HttpWeatherSettings extends HttpWeatherMapping {
  /** Request header that carries the weather secret's `apiKey` (verbatim, e.g. "Bearer …"). */
  readonly authHeader: string;
}

/** Defaults of the field names: one row per location and valid hour. */
export const HTTP_WEATHER_DEFAULTS = {
  locationField: 'location',
  validTimeField: 'valid_time',
  issuedField: 'issued_at',
  variables: 'temperature_2m',
  authHeader: 'Authorization',
} as const;

/** `temperature_2m=t2m,cloud_cover=clouds` (a bare name maps the variable to a field of the same name). */
const variableMapping = nonEmpty.transform((text, ctx) => {
  const mapping: Partial<Record<WeatherVariable, string>> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    const [variable = '', field = variable, extra] = part.split('=').map((p) => p.trim());
    if (extra !== undefined || variable === '' || field === '') {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not variable=field` });
      return z.NEVER;
    }
    if (!(WEATHER_VARIABLES as readonly string[]).includes(variable)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${variable}" is not a weather variable (${WEATHER_VARIABLES.join(', ')})`,
      });
      return z.NEVER;
    }
    mapping[variable as WeatherVariable] = field;
  }
  if (!mapping.temperature_2m) {
    ctx.addIssue({ code: 'custom', message: 'must map temperature_2m (the models read it)' });
    return z.NEVER;
  }
  return mapping as HttpWeatherMapping['variables'];
});

const httpWeatherEnv = z.object({
  WEATHER_URL: secureUrl,
  WEATHER_HTTP_FORMAT: z.enum(['csv', 'json'], { error: 'must be "csv" or "json"' }),
  WEATHER_HTTP_LOCATION_FIELD: optional(nonEmpty),
  WEATHER_HTTP_VALID_TIME_FIELD: optional(nonEmpty),
  WEATHER_HTTP_ISSUED_FIELD: optional(nonEmpty),
  WEATHER_HTTP_VARIABLES: optional(variableMapping),
  WEATHER_HTTP_ITEMS_PATH: optional(dottedPath),
  WEATHER_HTTP_AUTH_HEADER: optional(
    nonEmpty.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name such as X-Api-Key'),
  ),
});

/**
 * The generic HTTPS weather source's settings from plain config values (usually process.env).
 * Throws a ConfigurationError naming each bad variable.
 */
export function parseHttpWeatherConfig(
  env: Readonly<Record<string, string | undefined>>,
): HttpWeatherSettings {
  const result = httpWeatherEnv.safeParse(env);
  if (!result.success)
    throw new ConfigurationError(
      `weather source configuration (WEATHER_SOURCE=http): ${describeIssues(result.error)}`,
    );
  const v = result.data;
  const d = HTTP_WEATHER_DEFAULTS;
  return {
    url: v.WEATHER_URL,
    format: v.WEATHER_HTTP_FORMAT,
    locationField: v.WEATHER_HTTP_LOCATION_FIELD ?? d.locationField,
    validTimeField: v.WEATHER_HTTP_VALID_TIME_FIELD ?? d.validTimeField,
    issuedField: v.WEATHER_HTTP_ISSUED_FIELD ?? d.issuedField,
    variables: v.WEATHER_HTTP_VARIABLES ?? { temperature_2m: d.variables },
    ...(v.WEATHER_HTTP_ITEMS_PATH ? { itemsPath: v.WEATHER_HTTP_ITEMS_PATH } : {}),
    authHeader: v.WEATHER_HTTP_AUTH_HEADER ?? d.authHeader,
  };
}

/** What the runtime configuration says about the weather source (see RuntimeConfig.weather). */
export interface WeatherSourceSettings {
  /** Unset: no weather is fetched. */
  readonly source?: 'open-meteo' | 'http';
  /** Open-Meteo's endpoint (the commercial tier's, or a self-hosted one); default the free one. */
  readonly url?: string;
  /** Open-Meteo's weather model, e.g. 'ecmwf_ifs025'. */
  readonly model?: string;
  /** A series whose newest weather vintage is older than this is forecast by its calendar-only model. */
  readonly maxAgeHours: number;
  /** WEATHER_SOURCE=http: the endpoint and its mapping. */
  readonly http?: HttpWeatherSettings;
}

/** The name a configured source stores its vintages under. */
export function weatherSourceName(settings: WeatherSourceSettings): string {
  return settings.source === 'http' ? 'http-weather' : 'open-meteo';
}

/** Builds the configured weather source with the API key read from the weather secret (if any). */
export function createWeatherSource(
  settings: WeatherSourceSettings,
  apiKey: string | undefined,
  transport?: TransportOptions,
): WeatherSource {
  if (settings.source === 'http') {
    if (!settings.http) throw new ConfigurationError('WEATHER_SOURCE=http needs the WEATHER_HTTP_* settings');
    const { authHeader, ...mapping } = settings.http;
    return new HttpWeatherSource({
      ...mapping,
      name: weatherSourceName(settings),
      maxIssueAgeHours: settings.maxAgeHours,
      ...(apiKey ? { headers: { [authHeader]: apiKey } } : {}),
      ...(transport ? { transport } : {}),
    });
  }
  return new OpenMeteoWeatherSource({
    ...(settings.url ? { url: settings.url } : {}),
    ...(settings.model ? { model: settings.model } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(transport ? { transport } : {}),
  });
}

import { ConfigurationError, NotFoundError } from '../../core/errors.ts';
import type { ActualsSource } from '../../core/ports/actuals-source.ts';
import { runIngest, type IngestSummary } from '../../core/use-cases/run-ingest.ts';
import { MetricUnit } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import type { WeatherSource } from '../../core/ports/weather-source.ts';
import { runWeatherIngest, type WeatherIngestSummary } from '../../core/use-cases/run-weather-ingest.ts';
import { readCredentialsSecret, readSecretJson } from '../secrets.ts';
import { createActualsSource } from '../sources/index.ts';
import { OpenMeteoWeatherSource } from '../sources/open-meteo.ts';
import { parseIngestEvent } from './events.ts';
import { withFailureLogging, type Handler } from './handler.ts';

/** The configured source; created once per runtime: the EPİAŞ ticket lives inside it and is reused for hours. */
function configuredSource(runtime: Runtime): ActualsSource {
  const { source, secretArn } = runtime.config.ingest;
  if (!source)
    throw new ConfigurationError('ingest source configuration: INGEST_SOURCE: must be "epias" or "http"');
  return createActualsSource(source, {
    getCredentials: async () => {
      if (!secretArn)
        throw new ConfigurationError('INGEST_SECRET_ARN is not set; the source needs credentials');
      return readCredentialsSecret(runtime.secrets(), secretArn);
    },
  });
}

/** The configured weather source, or none; the API key (commercial tier) is read once, on first use. */
export function configuredWeatherSource(runtime: Runtime): WeatherSource | undefined {
  const { source, url, model, secretArn } = runtime.config.weather;
  if (!source) return undefined;
  let open: Promise<OpenMeteoWeatherSource> | undefined;
  const get = async (): Promise<OpenMeteoWeatherSource> => {
    let apiKey: string | undefined;
    if (secretArn) {
      const secret = await readSecretJson(runtime.secrets(), secretArn);
      if (typeof secret.apiKey === 'string' && secret.apiKey !== '') apiKey = secret.apiKey;
    }
    return new OpenMeteoWeatherSource({
      ...(url ? { url } : {}),
      ...(model ? { model } : {}),
      ...(apiKey ? { apiKey } : {}),
    });
  };
  return {
    name: 'open-meteo',
    async fetch(request, signal) {
      open ??= get();
      open.catch(() => (open = undefined));
      return (await open).fetch(request, signal);
    },
  };
}

/**
 * Pulls the trailing window of actuals from the configured source and stores new values and revisions;
 * first, when a weather source is configured, the newest weather forecast for every series' locations
 * (run 'weather'). A weather failure is logged and counted, never stops the actuals: the forecast then
 * falls back to calendar-only models for the series whose weather is too old.
 */
export function createIngestHandler(
  runtime: Runtime,
  source: ActualsSource = configuredSource(runtime),
  weatherSource: WeatherSource | undefined = configuredWeatherSource(runtime),
): Handler<unknown, IngestSummary & { weather?: WeatherIngestSummary | { error: string } }> {
  const { logger, metrics, config } = runtime;
  return withFailureLogging('ingest', logger, async (event) => {
    const command = parseIngestEvent(event);
    let weather: WeatherIngestSummary | { error: string } | undefined;
    if (weatherSource) {
      try {
        weather = await runtime.withStores((stores) =>
          runWeatherIngest(stores, weatherSource, {
            now: command.now ?? Date.now(),
            trigger: command.scheduled ? 'schedule' : 'manual',
          }),
        );
        logger.info('weather fetched', { ...weather });
        metrics.addMetric('WeatherIncompleteLocations', MetricUnit.Count, weather.incomplete.length);
      } catch (error) {
        weather = { error: (error as Error).message };
        logger.error('weather fetch failed; forecasts fall back to calendar-only models when it is too old', {
          error: weather.error,
        });
        metrics.addMetric('WeatherFetchFailed', MetricUnit.Count, 1);
      }
    }
    return runtime.withStores(async (stores) => {
      const [series] = await stores.series.findSeries([config.ingest.series]);
      if (!series) {
        throw new NotFoundError(
          `series "${config.ingest.series}" (INGEST_SERIES) does not exist; create it with "pulse import" or SQL`,
        );
      }
      const summary = await runIngest(stores, source, {
        series,
        now: command.now ?? Date.now(),
        trigger: command.scheduled ? 'schedule' : 'manual',
        trailingHours: config.ingest.trailingHours,
      });
      logger.info('ingest finished', { ...summary, series: series.name, source: source.name });
      metrics.addMetric('ActualsRevised', MetricUnit.Count, summary.revised);
      metrics.addMetric('ActualsInserted', MetricUnit.Count, summary.inserted);
      metrics.publishStoredMetrics();
      return weather ? { ...summary, weather } : summary;
    });
  });
}

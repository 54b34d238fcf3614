import { ConfigurationError, NotFoundError, SourceError } from '../../core/errors.ts';
import type { ActualsSource } from '../../core/ports/actuals-source.ts';
import type { Stores } from '../../core/ports/stores.ts';
import type { SeriesInfo } from '../../core/series.ts';
import { UNSET_CREDENTIALS_USERNAME, type SeriesSource } from '../../core/series-config.ts';
import { runIngest, type IngestSummary } from '../../core/use-cases/run-ingest.ts';
import type { WeatherSource } from '../../core/ports/weather-source.ts';
import { runWeatherIngest, type WeatherIngestSummary } from '../../core/use-cases/run-weather-ingest.ts';
import { MetricUnit } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { readCredentialsSecret, readSecretJson } from '../secrets.ts';
import { createActualsSource, sourceConfigOf } from '../sources/index.ts';
import { createWeatherSource, weatherSourceName } from '../sources/weather-config.ts';
import { parseIngestEvent } from './events.ts';
import { withFailureLogging, type Handler } from './handler.ts';

/** What one ingest run over the configured series did. */
export interface ConfiguredIngestSummary {
  /**
   * - `ingested`: every configured series was read (see `series`);
   * - `not-configured`: the source credentials are still the stack's placeholder; nothing was read;
   * - `no-series`: no active series has a source in the series configuration.
   */
  readonly status: 'ingested' | 'not-configured' | 'no-series';
  readonly series: Array<{ readonly name: string } & Partial<IngestSummary>>;
}

/** The env-configured source (INGEST_SOURCE); created once per runtime: the EPİAŞ ticket lives inside it. */
function environmentSource(runtime: Runtime): ActualsSource | undefined {
  const { source, secretArn } = runtime.config.ingest;
  if (!source) return undefined;
  return createActualsSource(source, {
    getCredentials: async () => {
      if (!secretArn)
        throw new ConfigurationError('INGEST_SECRET_ARN is not set; the source needs credentials');
      return readCredentialsSecret(runtime.secrets(), secretArn);
    },
  });
}

/** The configured weather source, or none; the API key (from the weather secret) is read once, on first use. */
export function configuredWeatherSource(runtime: Runtime): WeatherSource | undefined {
  const settings = runtime.config.weather;
  if (!settings.source) return undefined;
  let open: Promise<WeatherSource> | undefined;
  const get = async (): Promise<WeatherSource> => {
    let apiKey: string | undefined;
    if (settings.secretArn) {
      const secret = await readSecretJson(runtime.secrets(), settings.secretArn);
      if (typeof secret.apiKey === 'string' && secret.apiKey !== '') apiKey = secret.apiKey;
    }
    return createWeatherSource(settings, apiKey);
  };
  return {
    name: weatherSourceName(settings),
    async fetch(request, signal) {
      open ??= get();
      open.catch(() => (open = undefined));
      return (await open).fetch(request, signal);
    },
  };
}

type WeatherOutcome = WeatherIngestSummary | { error: string };

/**
 * First, when a weather source is configured, the newest weather forecast for every series' locations
 * (run 'weather'). A weather failure is logged and counted, never stops the actuals: the forecast then
 * falls back to calendar-only models for the series whose weather is too old.
 *
 * Then pulls the trailing window of actuals and stores new values and revisions. In AWS every active series
 * with a `source` in the series configuration is read, each on its own (one failing series does not
 * stop the others; the run fails afterwards so Lambda retries it). With INGEST_SOURCE set (local
 * `pulse serve`, tests) the one series INGEST_SERIES is read from that source instead.
 *
 * While the ingest secret still holds the stack's placeholder, the run logs a warning and publishes
 * `IngestNotConfigured` (no alarm watches it) instead of failing every hour: see docs/deploy.md.
 */
export function createIngestHandler(
  runtime: Runtime,
  source: ActualsSource | undefined = environmentSource(runtime),
  weatherSource: WeatherSource | undefined = configuredWeatherSource(runtime),
): Handler<unknown, (IngestSummary | ConfiguredIngestSummary) & { weather?: WeatherOutcome }> {
  const { logger, metrics, config } = runtime;
  // One source per distinct configuration, kept for the container's life (EPİAŞ tickets last hours).
  const sources = new Map<string, ActualsSource>();
  const sourceFor = (configured: SeriesSource): ActualsSource => {
    const key = JSON.stringify(configured);
    let found = sources.get(key);
    if (!found) {
      found = createActualsSource(sourceConfigOf(configured), {
        getCredentials: () => readCredentialsSecret(runtime.secrets(), config.ingest.secretArn!),
      });
      sources.set(key, found);
    }
    return found;
  };

  const publish = (inserted: number, revised: number) => {
    metrics.addMetric('ActualsRevised', MetricUnit.Count, revised);
    metrics.addMetric('ActualsInserted', MetricUnit.Count, inserted);
    metrics.publishStoredMetrics();
  };

  return withFailureLogging('ingest', logger, async (event) => {
    const command = parseIngestEvent(event);
    const now = command.now ?? Date.now();
    const trigger = command.scheduled ? 'schedule' : 'manual';
    let weather: WeatherOutcome | undefined;
    if (weatherSource) {
      try {
        weather = await runtime.withStores((stores) =>
          runWeatherIngest(stores, weatherSource, { now, trigger }),
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
    const withWeather = <T extends object>(summary: T) => (weather ? { ...summary, weather } : summary);
    const ingestOne = async (stores: Stores, series: SeriesInfo, from: ActualsSource) => {
      const summary = await runIngest(stores, from, {
        series,
        now,
        trigger,
        trailingHours: config.ingest.trailingHours,
      });
      logger.info('ingest finished', { ...summary, series: series.name, source: from.name });
      return summary;
    };
    return runtime.withStores(async (stores) => {
      if (source) {
        const [series] = await stores.series.findSeries([config.ingest.series]);
        if (!series) {
          throw new NotFoundError(
            `series "${config.ingest.series}" (INGEST_SERIES) does not exist; create it with "pulse import" or SQL`,
          );
        }
        const summary = await ingestOne(stores, series, source);
        publish(summary.inserted, summary.revised);
        return withWeather(summary);
      }

      const configured = await stores.series.sourcedSeries();
      if (configured.length === 0) {
        logger.info('ingest: no active series has a source in the series configuration (pulse.config.json)');
        publish(0, 0);
        return withWeather({ status: 'no-series' as const, series: [] });
      }
      if (configured.some((c) => c.source.kind === 'epias')) {
        if (!config.ingest.secretArn)
          throw new ConfigurationError('INGEST_SECRET_ARN is not set; the EPİAŞ source needs credentials');
        const credentials = await readCredentialsSecret(runtime.secrets(), config.ingest.secretArn);
        if (credentials.username === UNSET_CREDENTIALS_USERNAME) {
          const names = configured.map((c) => c.series.name);
          logger.warn(
            `ingest not configured: the ingest secret ${config.ingest.secretArn} still holds the placeholder; put the EPİAŞ username and password in it (docs/deploy.md). Nothing was read.`,
            { series: names },
          );
          metrics.addMetric('IngestNotConfigured', MetricUnit.Count, names.length);
          publish(0, 0);
          return withWeather({ status: 'not-configured' as const, series: names.map((name) => ({ name })) });
        }
      }

      const results: ConfiguredIngestSummary['series'] = [];
      const failures: string[] = [];
      for (const { series, source: configuredSource } of configured) {
        const from = sourceFor(configuredSource);
        try {
          results.push({ name: series.name, ...(await ingestOne(stores, series, from)) });
        } catch (error) {
          logger.error('ingest of one series failed; the others go on', {
            series: series.name,
            source: from.name,
            error: error as Error,
          });
          failures.push(`${series.name}: ${(error as Error).message}`);
          results.push({ name: series.name });
        }
      }
      publish(
        results.reduce((n, r) => n + (r.inserted ?? 0), 0),
        results.reduce((n, r) => n + (r.revised ?? 0), 0),
      );
      // The others are stored; failing the run makes Lambda retry it and the Errors alarm see it.
      if (failures.length)
        throw new SourceError(
          `ingest failed for ${failures.length} of ${configured.length} series: ${failures.join('; ')}`,
        );
      return withWeather({ status: 'ingested' as const, series: results });
    });
  });
}

import { toIso } from '../../core/time.ts';
import { runBackfill, type BackfillSummary } from '../../core/use-cases/run-backfill.ts';
import { runForecast, type ForecastRunSummary } from '../../core/use-cases/run-forecast.ts';
import { DEFAULT_WINDOW_CHECKS } from '../../core/validation.ts';
import { openModels, type Models } from '../models.ts';
import { MetricUnit } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { parseForecastEvent, type ForecastCommand } from './events.ts';
import { withFailureLogging, type Handler } from './handler.ts';

export type ForecastHandlerResult = ForecastRunSummary | BackfillSummary;

/** The forecast function's two jobs, typed, for callers that need no event (the CLI, tests). */
export interface ForecastJobs {
  forecast(command: Exclude<ForecastCommand, { kind: 'backfill' }>): Promise<ForecastRunSummary>;
  backfill(command: Extract<ForecastCommand, { kind: 'backfill' }>): Promise<BackfillSummary>;
}

/** The jobs over `runtime`; creating them starts loading the default model. */
export function createForecastJobs(
  runtime: Runtime,
  models: Models = openModels(runtime.config),
): ForecastJobs {
  const { logger, metrics, config } = runtime;
  const checks = { ...DEFAULT_WINDOW_CHECKS, staleAfterHours: config.staleAfterHours };
  models.warmUp();
  return {
    backfill: (command) =>
      runtime.withStores(async (stores) => {
        const summary = await runBackfill(stores, await models.resolver(stores), {
          from: command.from,
          to: command.to,
          seriesNames: command.series,
          trigger: 'manual',
          checks,
        });
        logger.info('backfill finished', { ...summary, from: toIso(command.from), to: toIso(command.to) });
        return summary;
      }),
    forecast: (command) =>
      runtime.withStores(async (stores) => {
        const asOf = command.asOf ?? Date.now();
        const summary = await runForecast(stores, await models.resolver(stores), {
          asOf,
          trigger: command.kind === 'scheduled' ? 'schedule' : 'manual',
          seriesNames: command.series,
          checks,
          weatherMaxAgeHours: config.weather.maxAgeHours,
        });
        const log = summary.failures.length ? logger.warn.bind(logger) : logger.info.bind(logger);
        log('forecast run finished', { ...summary, asOf: toIso(asOf) });
        // A run succeeds unless every series failed; with no series at all (a fresh deploy) it succeeded too.
        if (summary.seriesCount === 0 || summary.failures.length < summary.seriesCount)
          metrics.addMetric('ForecastRunSuccess', MetricUnit.Count, 1);
        metrics.addMetric('ForecastsWritten', MetricUnit.Count, summary.forecastsWritten);
        if (summary.seriesCount > 0) {
          metrics.addMetric(
            'FallbackRate',
            MetricUnit.Percent,
            (100 * summary.fallbackSeries) / summary.seriesCount,
          );
          metrics.addMetric('DataStalenessHours', MetricUnit.Count, summary.maxStalenessHours);
          metrics.addMetric('WeatherDegradedSeries', MetricUnit.Count, summary.weatherDegraded);
        }
        metrics.publishStoredMetrics();
        return summary;
      }),
  };
}

/**
 * Hourly forecast (the schedule at SCHEDULE_MINUTES.forecast, src/core/schedule.ts), manual forecast, or backfill: parse the event, run
 * the job, log and publish metrics, return the summary.
 */
export function createForecastHandler(
  runtime: Runtime,
  models?: Models,
): Handler<unknown, ForecastHandlerResult> {
  const jobs = createForecastJobs(runtime, models);
  return withFailureLogging('forecast', runtime.logger, async (event) => {
    const command = parseForecastEvent(event);
    return command.kind === 'backfill' ? jobs.backfill(command) : jobs.forecast(command);
  });
}

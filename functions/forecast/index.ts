import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PostgresPulseStore } from '../../src/adapters/postgres/pulse-store.ts';
import { toIso } from '../../src/core/time.ts';
import { runBackfill } from '../../src/core/use-cases/run-backfill.ts';
import { runForecast } from '../../src/core/use-cases/run-forecast.ts';
import { DEFAULT_WINDOW_CHECKS } from '../../src/core/validation.ts';
import { loadConfig } from '../shared/config.ts';
import { withDatabase } from '../shared/database.ts';
import { parseForecastEvent } from '../shared/events.ts';
import { modelResolver, warmUpDefaultModel } from '../shared/models.ts';
import { logger, metrics } from '../shared/observability.ts';

const config = loadConfig();
warmUpDefaultModel(config);

/**
 * Hourly forecast (EventBridge `cron(7 * * * ? *)`), manual forecast, or backfill.
 * Parse the event, run the core use case, log and publish metrics, return the summary.
 */
export async function handler(event: unknown, context?: Context) {
  if (context) logger.addContext(context);
  const command = parseForecastEvent(event);
  const checks = { ...DEFAULT_WINDOW_CHECKS, staleAfterHours: config.staleAfterHours };
  return withDatabase(config, async (sql) => {
    const store = new PostgresPulseStore(sql);
    const resolver = await modelResolver(config, sql);
    if (command.kind === 'backfill') {
      const summary = await runBackfill(store, resolver, {
        from: command.from,
        to: command.to,
        seriesNames: command.series,
        trigger: 'manual',
        checks,
      });
      logger.info('backfill finished', { ...summary, from: toIso(command.from), to: toIso(command.to) });
      return summary;
    }
    const asOf = command.asOf ?? Date.now();
    const summary = await runForecast(store, resolver, {
      asOf,
      trigger: command.kind === 'scheduled' ? 'schedule' : 'manual',
      seriesNames: command.series,
      checks,
    });
    const log = summary.failures.length ? logger.warn.bind(logger) : logger.info.bind(logger);
    log('forecast run finished', { ...summary, asOf: toIso(asOf) });
    if (summary.failures.length < summary.seriesCount)
      metrics.addMetric('ForecastRunSuccess', MetricUnit.Count, 1);
    metrics.addMetric('ForecastsWritten', MetricUnit.Count, summary.forecastsWritten);
    if (summary.seriesCount > 0) {
      metrics.addMetric(
        'FallbackRate',
        MetricUnit.Percent,
        (100 * summary.fallbackSeries) / summary.seriesCount,
      );
      metrics.addMetric('DataStalenessHours', MetricUnit.Count, summary.maxStalenessHours);
    }
    metrics.publishStoredMetrics();
    return summary;
  });
}

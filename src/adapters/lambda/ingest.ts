import { ConfigurationError, NotFoundError } from '../../core/errors.ts';
import type { ActualsSource } from '../../core/ports/actuals-source.ts';
import { runIngest, type IngestSummary } from '../../core/use-cases/run-ingest.ts';
import { MetricUnit } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { readCredentialsSecret } from '../secrets.ts';
import { createActualsSource } from '../sources/index.ts';
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

/** Pulls the trailing window of actuals from the configured source and stores new values and revisions. */
export function createIngestHandler(
  runtime: Runtime,
  source: ActualsSource = configuredSource(runtime),
): Handler<unknown, IngestSummary> {
  const { logger, metrics, config } = runtime;
  return withFailureLogging('ingest', logger, async (event) => {
    const command = parseIngestEvent(event);
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
      return summary;
    });
  });
}

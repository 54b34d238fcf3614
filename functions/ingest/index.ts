import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PostgresPulseStore } from '../../src/adapters/postgres/pulse-store.ts';
import { readCredentialsSecret } from '../../src/adapters/secrets.ts';
import { createActualsSource, parseSourceConfig } from '../../src/adapters/sources/index.ts';
import { ConfigurationError, NotFoundError } from '../../src/core/errors.ts';
import { runIngest } from '../../src/core/use-cases/run-ingest.ts';
import { loadConfig } from '../shared/config.ts';
import { secretsManager, withDatabase } from '../shared/database.ts';
import { parseIngestEvent } from '../shared/events.ts';
import { logger, metrics } from '../shared/observability.ts';

const config = loadConfig();
// Created once per container: the EPİAŞ ticket lives inside the source and must be reused for hours.
const source = createActualsSource(parseSourceConfig(process.env), {
  getCredentials: async () => {
    if (!config.ingestSecretArn)
      throw new ConfigurationError('INGEST_SECRET_ARN is not set; the source needs credentials');
    return readCredentialsSecret(secretsManager(), config.ingestSecretArn);
  },
});

/** Pulls the trailing window of actuals from the configured source and stores new values and revisions. */
export async function handler(event: unknown, context?: Context) {
  if (context) logger.addContext(context);
  const command = parseIngestEvent(event);
  return withDatabase(config, async (sql) => {
    const store = new PostgresPulseStore(sql);
    const [series] = await store.findSeries([config.ingestSeries]);
    if (!series) {
      throw new NotFoundError(
        `series "${config.ingestSeries}" (INGEST_SERIES) does not exist; create it with "pulse import" or SQL`,
      );
    }
    const summary = await runIngest(store, source, {
      series,
      now: command.now ?? Date.now(),
      trigger: command.scheduled ? 'schedule' : 'manual',
      trailingHours: config.ingestTrailingHours,
    });
    logger.info('ingest finished', { ...summary, series: series.name, source: source.name });
    metrics.addMetric('ActualsRevised', MetricUnit.Count, summary.revised);
    metrics.addMetric('ActualsInserted', MetricUnit.Count, summary.inserted);
    metrics.publishStoredMetrics();
    return summary;
  });
}

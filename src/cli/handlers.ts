import { createObservability } from '../adapters/observability.ts';
import { createEvaluateHandler } from '../adapters/lambda/evaluate.ts';
import { createForecastHandler, createForecastJobs, type ForecastJobs } from '../adapters/lambda/forecast.ts';
import type { Handler } from '../adapters/lambda/handler.ts';
import { createIngestHandler, type ConfiguredIngestSummary } from '../adapters/lambda/ingest.ts';
import type { ForecastHandlerResult } from '../adapters/lambda/forecast.ts';
import type { EvaluateHandlerResult } from '../adapters/lambda/evaluate.ts';
import { openModels, type Models } from '../adapters/models.ts';
import { openRuntime, type Runtime } from '../adapters/runtime.ts';
import type { IngestSummary } from '../core/use-cases/run-ingest.ts';
import { cliConfig } from './config.ts';

/**
 * The CLI runs the very handlers that run in AWS, in-process against the local database, so the local
 * pipeline and the deployed one cannot drift apart. They share one runtime, closed at the end.
 */
export interface LocalHandlers {
  readonly runtime: Runtime;
  readonly forecast: Handler<unknown, ForecastHandlerResult>;
  readonly evaluate: Handler<unknown, EvaluateHandlerResult>;
  /** The forecast function's jobs with typed results. */
  readonly jobs: ForecastJobs;
  /** The models the jobs use (for chunked work that calls the use cases itself). */
  readonly models: Models;
  /** INGEST_SOURCE's one series, else every series with a source in the series configuration. */
  readonly ingest: Handler<unknown, IngestSummary | ConfiguredIngestSummary>;
  /** Closes the handlers' database connection (a Lambda container keeps it; a CLI process must not). */
  close(): Promise<void>;
}

export function openHandlers(databaseUrl: string, options: { verbose?: boolean } = {}): LocalHandlers {
  const config = cliConfig(databaseUrl);
  const runtime = openRuntime(config, {
    // No CloudWatch here: metrics are dropped, logs shown with --verbose.
    observability: createObservability({
      serviceName: config.serviceName,
      metricsNamespace: config.metricsNamespace,
      logLevel: options.verbose ? 'INFO' : 'SILENT',
      metricsDisabled: true,
    }),
  });
  const models = openModels(config);
  return {
    runtime,
    forecast: createForecastHandler(runtime, models),
    evaluate: createEvaluateHandler(runtime),
    jobs: createForecastJobs(runtime, models),
    models,
    ingest: createIngestHandler(runtime),
    close: () => runtime.close(),
  };
}

/** The event EventBridge delivers for a schedule tick at `time`. */
export function scheduledEvent(time: number): Record<string, unknown> {
  return {
    version: '0',
    id: `local-${time}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date(time).toISOString().replace('.000Z', 'Z'),
    region: 'local',
    resources: [],
    detail: {},
  };
}

/** Opens the handlers for one command and closes their connection afterwards. */
export async function withHandlers<T>(
  databaseUrl: string,
  options: { verbose?: boolean },
  work: (handlers: LocalHandlers) => Promise<T>,
): Promise<T> {
  const handlers = openHandlers(databaseUrl, options);
  try {
    return await work(handlers);
  } finally {
    await handlers.close();
  }
}

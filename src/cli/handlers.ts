import { MODEL_DIR } from './paths.ts';

/**
 * The CLI runs the very Lambda handlers that run in AWS, in-process against the local database, so the
 * local pipeline and the deployed one cannot drift apart.
 */
export interface LocalHandlers {
  forecast(event: unknown): Promise<unknown>;
  evaluate(event: unknown): Promise<unknown>;
  /** Closes the handlers' database connection (a Lambda container keeps it; a CLI process must not). */
  close(): Promise<void>;
}

export async function loadHandlers(
  databaseUrl: string,
  options: { verbose?: boolean } = {},
): Promise<LocalHandlers> {
  process.env.DATABASE_URL = databaseUrl;
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true'; // no CloudWatch here: keep EMF lines off the terminal
  process.env.POWERTOOLS_LOG_LEVEL ??= options.verbose ? 'INFO' : 'SILENT';
  process.env.MODEL_DIR ??= MODEL_DIR; // the project's models, from any working directory
  const [forecast, evaluate, database] = await Promise.all([
    import('../../functions/forecast/index.ts'),
    import('../../functions/evaluate/index.ts'),
    import('../../functions/shared/database.ts'),
  ]);
  return { forecast: forecast.handler, evaluate: evaluate.handler, close: database.resetDatabase };
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

/** Loads the handlers for one command and closes their connection afterwards. */
export async function withHandlers<T>(
  databaseUrl: string,
  options: { verbose?: boolean },
  work: (handlers: LocalHandlers) => Promise<T>,
): Promise<T> {
  const handlers = await loadHandlers(databaseUrl, options);
  try {
    return await work(handlers);
  } finally {
    await handlers.close();
  }
}

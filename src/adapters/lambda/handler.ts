import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { DEFAULT_METRICS_NAMESPACE, DEFAULT_SERVICE_NAME, loadConfig } from '../config.ts';
import { createObservability } from '../observability.ts';
import { openRuntime, type Runtime } from '../runtime.ts';

/** A handler as Lambda invokes it; the context is optional so the CLI and tests can call it too. */
export type Handler<E, R> = (event: E, context?: Context) => Promise<R>;

/**
 * The one wrapper of every handler: adds the invocation's context to the logs, and logs a failure with
 * the function's name and the error (name, message, stack, cause) before rethrowing it, so Lambda's
 * retries, the failure destination and the Errors alarm still see it.
 */
export function withFailureLogging<E, R>(
  name: string,
  logger: Logger,
  handler: (event: E, context?: Context) => Promise<R>,
): Handler<E, R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    try {
      return await handler(event, context);
    } catch (error) {
      logger.error(`${name} failed`, { function: name, error: error as Error });
      throw error;
    }
  };
}

let containerRuntime: Runtime | undefined;

/**
 * The runtime of this Lambda container, opened on first use from the environment (read once, here)
 * and kept for the container's life.
 */
export function lambdaRuntime(): Runtime {
  return (containerRuntime ??= openRuntime(loadConfig(process.env)));
}

/**
 * A Lambda entry: binds a handler factory to the container's runtime. `eager` binds it at import, during
 * Lambda's init (the forecast starts loading its model there); otherwise on the first event. A bad
 * configuration fails the invoke (logged and rethrown), not the import.
 */
export function lambdaHandler<E, R>(
  name: string,
  factory: (runtime: Runtime) => Handler<E, R>,
  options: { eager?: boolean } = {},
): Handler<E, R> {
  let bound: Handler<E, R> | undefined;
  const bind = () => (bound ??= factory(lambdaRuntime()));
  if (options.eager) {
    try {
      bind();
    } catch {
      // reported by the first invoke, which binds again
    }
  }
  return async (event, context) => {
    try {
      bind();
    } catch (error) {
      const { logger } = createObservability({
        serviceName: DEFAULT_SERVICE_NAME,
        metricsNamespace: DEFAULT_METRICS_NAMESPACE,
      });
      return withFailureLogging(name, logger, () => Promise.reject(error))(event, context);
    }
    return bound!(event, context);
  };
}

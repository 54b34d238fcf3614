import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { loadConfig, type Environment, type RuntimeConfig } from '../../src/adapters/config.ts';
import { createEvaluateHandler } from '../../src/adapters/lambda/evaluate.ts';
import { createForecastHandler } from '../../src/adapters/lambda/forecast.ts';
import { createObservability, type ObservabilityOptions } from '../../src/adapters/observability.ts';
import { openRuntime, type Runtime } from '../../src/adapters/runtime.ts';

/** The context object Lambda passes; the handlers only read it for log correlation. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-central-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function scheduled(time: string) {
  return {
    version: '0',
    id: `evt-${time}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time,
    region: 'eu-central-1',
    resources: ['arn:aws:events:eu-central-1:000000000000:rule/pulse-forecast'],
    detail: {},
  };
}

/**
 * The EMF lines the handlers publish, handed over by the runtime (`emfLines`) instead of printed: nothing to
 * capture from stdout, and Powertools' own variables (POWERTOOLS_DEV, POWERTOOLS_METRICS_DISABLED) need not be
 * touched.
 */
export class MetricsRecorder {
  private readonly lines: string[] = [];
  readonly emfLines = (line: string): void => void this.lines.push(line);

  /** The lines published since the last call. */
  take(): string[] {
    return this.lines.splice(0);
  }
}

/** Logs at `logLevel` (default silent); metrics into `recorder`, else dropped. */
export function testObservability(
  config: RuntimeConfig,
  options: { recorder?: MetricsRecorder; logLevel?: ObservabilityOptions['logLevel'] } = {},
) {
  return createObservability({
    serviceName: config.serviceName,
    metricsNamespace: config.metricsNamespace,
    logLevel: options.logLevel ?? 'SILENT',
    ...(options.recorder ? { emfLines: options.recorder.emfLines } : { metricsDisabled: true }),
  });
}

/**
 * The handlers as a Lambda container builds them, from this environment (parsed by the same schema),
 * each test with its own runtime. Logs are silent and metrics dropped unless `observe` is set (Powertools'
 * defaults, as in Lambda) or a `recorder` takes the metrics.
 */
export function openTestRuntime(
  env: Environment,
  options: { observe?: boolean; recorder?: MetricsRecorder } = {},
): Runtime {
  const config = loadConfig(env);
  return openRuntime(config, {
    secrets: new SecretsManagerClient({ region: 'eu-central-1' }),
    ...(options.observe ? {} : { observability: testObservability(config, options) }),
  });
}

/** The forecast and evaluate handlers over one test runtime. */
export function importHandlers(env: Environment) {
  const runtime = openTestRuntime(env);
  return {
    runtime,
    forecast: createForecastHandler(runtime),
    evaluate: createEvaluateHandler(runtime),
    reset: () => runtime.close(),
  };
}

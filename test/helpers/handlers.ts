import type { Context } from 'aws-lambda';

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

/** Imports handlers with this environment (their config is read once, at import, as in a container). */
export async function importHandlers(env: Record<string, string>) {
  Object.assign(process.env, {
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...env,
  });
  const [forecast, evaluate, database, models] = await Promise.all([
    import('../../functions/forecast/index.ts'),
    import('../../functions/evaluate/index.ts'),
    import('../../functions/shared/database.ts'),
    import('../../functions/shared/models.ts'),
  ]);
  return {
    forecast: forecast.handler,
    evaluate: evaluate.handler,
    async reset() {
      await database.resetDatabase();
      models.resetModelResolver();
    },
  };
}

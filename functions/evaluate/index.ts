import { createEvaluateHandler } from '../../src/adapters/lambda/evaluate.ts';
import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';

/** Lambda entry: scores matured forecasts (cron 17 * * * ? *) and refreshes the rollups. */
export const handler = lambdaHandler('evaluate', createEvaluateHandler);

import { createEvaluateHandler } from '../../src/adapters/lambda/evaluate.ts';
import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';

/** Lambda entry: scores matured forecasts and refreshes the rollups. */
export const handler = lambdaHandler('evaluate', createEvaluateHandler);

import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';
import { createPromotionHandler } from '../../src/adapters/lambda/retraining.ts';

/** Lambda entry: parity, back-test and champion/challenger decision after a training job, or a failure recorded. */
export const handler = lambdaHandler('promotion', (runtime) => createPromotionHandler(runtime));

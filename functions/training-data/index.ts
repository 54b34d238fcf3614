import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';
import { createTrainingDataHandler } from '../../src/adapters/lambda/retraining.ts';

/** Lambda entry: the retraining cycle's series list and each series' training tensors, staged in S3. */
export const handler = lambdaHandler('training-data', (runtime) => createTrainingDataHandler(runtime));

import { createIngestHandler } from '../../src/adapters/lambda/ingest.ts';
import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';

/** Lambda entry: pulls new and revised actuals from the configured source. */
export const handler = lambdaHandler('ingest', createIngestHandler);

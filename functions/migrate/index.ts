import { createMigrateHandler } from '../../src/adapters/lambda/migrate.ts';
import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';

/** Lambda entry: deploy-time migrations and login users (a CDK trigger). */
export const handler = lambdaHandler('migrate', createMigrateHandler);

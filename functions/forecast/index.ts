import { createForecastHandler } from '../../src/adapters/lambda/forecast.ts';
import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';

/** Lambda entry: hourly forecast, manual forecast, backfill. The model starts loading at init. */
export const handler = lambdaHandler('forecast', createForecastHandler, { eager: true });

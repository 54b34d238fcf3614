import type { Stores } from '../../core/ports/stores.ts';
import { PostgresActualsStore } from './actuals-store.ts';
import type { Sql } from './client.ts';
import { PostgresEvaluationStore } from './evaluation-store.ts';
import { PostgresForecastStore } from './forecast-store.ts';
import { PostgresHolidaysStore } from './holidays-store.ts';
import { PostgresImportsStore } from './imports-store.ts';
import { PostgresMetricsReport } from './metrics-report.ts';
import { PostgresModelRegistry } from './model-registry.ts';
import { PostgresModelVersionsStore } from './model-versions-store.ts';
import { PostgresRunLog } from './run-log.ts';
import { PostgresSeriesStore } from './series-store.ts';
import { readTrainingActuals, type TrainingActuals } from './training-actuals.ts';
import { PostgresWeatherStore } from './weather-store.ts';

/** The core's ports and the adapter's own readers and writers, all over one connection. */
export interface PostgresStores extends Stores {
  readonly runs: PostgresRunLog;
  readonly series: PostgresSeriesStore;
  readonly actuals: PostgresActualsStore;
  readonly modelVersions: PostgresModelVersionsStore;
  readonly holidays: PostgresHolidaysStore;
  readonly imports: PostgresImportsStore;
  readonly metrics: PostgresMetricsReport;
  readonly weather: PostgresWeatherStore;
  /** Model versions, assignments and retraining decisions (champion/challenger). */
  readonly registry: PostgresModelRegistry;
  /** A series' record and all its actuals up to `until`, for training. */
  readonly trainingActuals: { read(name: string, until?: number): Promise<TrainingActuals> };
}

/** One store per port over `sql` (cheap: the stores hold nothing but the connection). */
export function createPostgresStores(sql: Sql): PostgresStores {
  return {
    runs: new PostgresRunLog(sql),
    series: new PostgresSeriesStore(sql),
    actuals: new PostgresActualsStore(sql),
    forecasts: new PostgresForecastStore(sql),
    evaluations: new PostgresEvaluationStore(sql),
    modelVersions: new PostgresModelVersionsStore(sql),
    holidays: new PostgresHolidaysStore(sql),
    imports: new PostgresImportsStore(sql),
    metrics: new PostgresMetricsReport(sql),
    weather: new PostgresWeatherStore(sql),
    registry: new PostgresModelRegistry(sql),
    trainingActuals: { read: (name, until) => readTrainingActuals(sql, name, until) },
  };
}

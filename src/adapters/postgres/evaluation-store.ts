import type { EvaluationStore, RollupSummary, ScoreRequest, ScoreResult } from '../../core/ports/stores.ts';
import type { Sql } from './client.ts';
import { refreshRollupsFromSums, scoreAndSum } from './error-sums.ts';

/**
 * Scores matured forecasts and keeps the rolling metrics. The scoring statement also maintains the error
 * sums per hour and day (error_hours, error_days), and the rollups are read from those sums, so an hourly
 * run costs what changed, not the history (src/adapters/postgres/error-sums.ts).
 */
export class PostgresEvaluationStore implements EvaluationStore {
  constructor(private readonly sql: Sql) {}

  async scorePredictions(request: ScoreRequest): Promise<ScoreResult> {
    return scoreAndSum(this.sql, request);
  }

  async refreshRollups(now: number): Promise<RollupSummary[]> {
    return refreshRollupsFromSums(this.sql, now);
  }
}

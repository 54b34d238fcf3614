import type { RunFinish, RunLog, RunStart } from '../../core/ports/stores.ts';
import type { Sql } from './client.ts';

/** Records each run of a function in `runs`, for health monitoring. */
export class PostgresRunLog implements RunLog {
  constructor(private readonly sql: Sql) {}

  async startRun(run: RunStart): Promise<number> {
    const [row] = await this.sql<{ id: string }[]>`
      insert into runs (function_name, trigger, scheduled_for)
      values (${run.functionName}, ${run.trigger}, ${run.scheduledFor === null ? null : new Date(run.scheduledFor)})
      returning id`;
    return Number(row!.id);
  }

  async finishRun(runId: number, f: RunFinish): Promise<void> {
    await this.sql`
      update runs set
        finished_at = now(), duration_ms = ${f.durationMs}, outcome = ${f.outcome},
        series_count = ${f.seriesCount}, rows_written = ${f.rowsWritten}, fallback_count = ${f.fallbackCount},
        failed_count = ${f.failedCount}, error = ${f.error}, details = ${this.sql.json(f.details as never)}
      where id = ${runId}`;
  }
}

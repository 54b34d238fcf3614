import type { RunFinish, RunLog, RunStart } from '../../core/ports/stores.ts';
import type { ChunkJournal } from '../../core/use-cases/run-in-chunks.ts';
import type { Sql } from './client.ts';

/** Records each run of a function in `runs`, for health monitoring. */
export class PostgresRunLog implements RunLog, ChunkJournal {
  constructor(private readonly sql: Sql) {}

  /**
   * Records a new run, held by this process (its application_name). In the same statement, runs left
   * 'running' by a process that is gone (no connection with their holder's name: killed, or the database
   * restarted under it) are recorded as failed, so every entry point reaps what an earlier one left.
   */
  async startRun(run: RunStart): Promise<number> {
    const [row] = await this.sql<{ id: string }[]>`
      with reaped as (
        update runs r set outcome = 'failed', finished_at = now(),
          error = coalesce(r.error || '; ', '') || 'abandoned: the process running it (' ||
                  coalesce(r.holder, 'unknown') || ') ended without recording an outcome (killed, or its ' ||
                  'database connection was lost); recorded as failed by the next run'
        where r.outcome = 'running'
          and (r.holder is null and r.started_at < now() - interval '1 day'
               or r.holder is not null
                  and not exists (select 1 from pg_stat_activity a where a.application_name = r.holder))
        returning r.id
      )
      insert into runs (function_name, trigger, scheduled_for, holder)
      select ${run.functionName}, ${run.trigger}, ${run.scheduledFor === null ? null : new Date(run.scheduledFor)},
             current_setting('application_name')
      from (select count(*) from reaped) as done
      returning id`;
    return Number(row!.id);
  }

  /** Records this process's open runs as failed (SIGINT, SIGTERM); returns how many. */
  async failOpenRuns(reason: string): Promise<number> {
    const result = await this.sql`
      update runs set outcome = 'failed', finished_at = now(), error = ${reason}
      where outcome = 'running' and holder = current_setting('application_name')`;
    return result.count;
  }

  async finishRun(runId: number, f: RunFinish): Promise<void> {
    await this.sql`
      update runs set
        finished_at = now(), duration_ms = ${f.durationMs}, outcome = ${f.outcome},
        series_count = ${f.seriesCount}, rows_written = ${f.rowsWritten}, fallback_count = ${f.fallbackCount},
        failed_count = ${f.failedCount}, error = ${f.error}, details = ${this.sql.json(f.details as never)}
      where id = ${runId}`;
  }

  /** Chunks of a chunked backfill or evaluation that a successful run completed (the journal is `runs`). */
  async completedChunks(functionName: 'backfill' | 'evaluate', scope: string): Promise<Set<string>> {
    const rows = await this.sql<{ chunk: string }[]>`
      select distinct details ->> 'chunk' as chunk from runs
      where function_name = ${functionName} and outcome in ('success', 'partial')
        and details ->> 'scope' = ${scope}`;
    return new Set(rows.map((r) => r.chunk));
  }
}

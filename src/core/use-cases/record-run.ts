import type { RunFinish, RunLog, RunStart } from '../ports/stores.ts';

export interface RunBody<T> {
  readonly summary: T;
  readonly finish: Omit<RunFinish, 'durationMs'>;
}

/**
 * Records a run around `body`: a 'running' row first, its outcome and counts after. A failing body is
 * recorded as 'failed' with its message and rethrown, so the caller's retry and alarm paths still work.
 */
export async function recordRun<T>(
  log: RunLog,
  start: RunStart,
  body: (runId: number) => Promise<RunBody<T>>,
): Promise<T & { runId: number }> {
  const runId = await log.startRun(start);
  const t0 = performance.now();
  try {
    const { summary, finish } = await body(runId);
    await log.finishRun(runId, { ...finish, durationMs: performance.now() - t0 });
    return { ...summary, runId };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const failed: RunFinish = {
      outcome: 'failed',
      durationMs: performance.now() - t0,
      seriesCount: 0,
      rowsWritten: 0,
      fallbackCount: 0,
      failedCount: 0,
      error: message,
      details: {},
    };
    // A connection killed mid-write fails the first attempt too; the second one reconnects. Without it
    // the run would show 'running' forever. The database may be what failed: the original error matters more.
    await log
      .finishRun(runId, failed)
      .catch(() => log.finishRun(runId, failed))
      .catch(() => undefined);
    throw error;
  }
}

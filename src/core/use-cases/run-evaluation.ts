import type { RollupSummary, Stores } from '../ports/stores.ts';
import { floorToHour, toIso } from '../time.ts';
import { recordRun } from './record-run.ts';
import type { JournalEntry } from './run-in-chunks.ts';

export interface EvaluationRequest {
  readonly now: number;
  readonly trigger: string;
  /** Re-examine every prediction with a target hour since then (manual re-scoring, after a backfill). */
  readonly since?: number;
  /** Last target hour to score (default: the hour of `now`); bounds one chunk of a large evaluation. */
  readonly until?: number;
  /** Refresh the rolling metrics after scoring (default true; a chunked evaluation does it once, at the end). */
  readonly refreshRollups?: boolean;
  /** Recorded with the run, so a chunked evaluation can resume where it stopped (run-in-chunks.ts). */
  readonly journal?: JournalEntry;
}

export interface EvaluationSummary {
  readonly runId: number;
  readonly scored: number;
  readonly rescored: number;
  readonly rollups: RollupSummary[];
  /** Worst 24 h MAPE (all horizons) over the series, for alarms; null without data. */
  readonly worstRollingMape24h: number | null;
  /** Highest 24 h fallback rate (percent) over the series; null without data. */
  readonly worstFallbackRate24h: number | null;
}

/** Scores every matured prediction (and re-scores revised ones), then refreshes the rolling metrics. */
export async function runEvaluation(
  stores: Pick<Stores, 'evaluations' | 'runs'>,
  request: EvaluationRequest,
): Promise<EvaluationSummary> {
  const until = floorToHour(Math.min(request.until ?? request.now, request.now));
  return recordRun(
    stores.runs,
    { functionName: 'evaluate', trigger: request.trigger, scheduledFor: until },
    async () => {
      const { scored, rescored, watermark } = await stores.evaluations.scorePredictions({
        since: request.since,
        until,
        now: request.now,
      });
      const rollups =
        request.refreshRollups === false ? [] : await stores.evaluations.refreshRollups(request.now);
      const day = rollups.filter((r) => r.windowName === '24h' && r.horizon === 0);
      const worst = (values: (number | null)[]) => {
        const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
        return finite.length ? Math.max(...finite) : null;
      };
      const summary = {
        scored,
        rescored,
        rollups,
        worstRollingMape24h: worst(day.map((r) => r.mape)),
        worstFallbackRate24h: worst(day.map((r) => r.fallbackRate)),
      };
      return {
        summary,
        finish: {
          outcome: 'success',
          seriesCount: new Set(rollups.map((r) => r.seriesName)).size,
          rowsWritten: scored + rescored,
          fallbackCount: 0,
          failedCount: 0,
          error: null,
          details: {
            scored,
            rescored,
            ...(watermark ? { watermark } : {}),
            ...(request.since !== undefined ? { since: toIso(request.since), until: toIso(until) } : {}),
            ...request.journal,
          },
        },
      };
    },
  );
}

import { InputError } from '../errors.ts';
import type { Stores } from '../ports/stores.ts';
import { HOUR_MS, toIso } from '../time.ts';
import { runBackfill, type BackfillRequest, type BackfillSummary } from './run-backfill.ts';
import { runEvaluation, type EvaluationSummary } from './run-evaluation.ts';
import type { ModelResolver } from '../forecasting.ts';

/** What a chunk's run records, so the next invocation of the same work can skip it. */
export interface JournalEntry {
  /** The work the chunk belongs to, e.g. "series=a,b" (same command, same scope). */
  readonly scope: string;
  /** The chunk's bounds, "from/to" as ISO times. */
  readonly chunk: string;
}

/** Chunks that finished successfully for a scope (the runs log is the journal). */
export interface ChunkJournal {
  completedChunks(functionName: 'backfill' | 'evaluate', scope: string): Promise<Set<string>>;
}

export interface TimeChunk {
  /** First and last hour of the chunk (inclusive). */
  readonly from: number;
  readonly to: number;
  readonly key: string;
}

/** [from, to] in chunks of `chunkHours` hours, aligned on `from` (the same command gives the same chunks). */
export function timeChunks(from: number, to: number, chunkHours: number): TimeChunk[] {
  if (!(from <= to)) throw new InputError(`the range ${toIso(from)} … ${toIso(to)} ends before it starts`);
  if (!Number.isInteger(chunkHours) || chunkHours < 1) throw new InputError('chunks must be whole hours ≥ 1');
  const chunks: TimeChunk[] = [];
  for (let start = from; start <= to; start += chunkHours * HOUR_MS) {
    const end = Math.min(start + (chunkHours - 1) * HOUR_MS, to);
    chunks.push({ from: start, to: end, key: `${toIso(start)}/${toIso(end)}` });
  }
  return chunks;
}

export interface ChunkEvent {
  readonly chunk: TimeChunk;
  readonly index: number;
  readonly total: number;
  /** Skipped because an earlier invocation completed it. */
  readonly skipped: boolean;
}

export interface ChunkedBackfillRequest extends Omit<BackfillRequest, 'journal'> {
  readonly chunkHours: number;
  /** Ignore the journal and redo every chunk (writes nothing already stored). */
  readonly restart?: boolean;
  readonly onChunk?: (event: ChunkEvent & { summary?: BackfillSummary }) => void;
}

export interface ChunkedSummary {
  readonly chunks: number;
  /** Chunks an earlier invocation had completed. */
  readonly skippedChunks: number;
  readonly runIds: number[];
}

export interface ChunkedBackfillSummary extends ChunkedSummary {
  readonly forecastsWritten: number;
  readonly fallbackOrigins: number;
  /** Origins for which not even a baseline could be made (stored as 'missed' rows). */
  readonly failedOrigins: number;
  readonly failedSeries: string[];
}

const backfillScope = (names: readonly string[] | undefined) =>
  `series=${names ? [...names].sort().join(',') : '*'}`;

/**
 * A backfill in bounded chunks: each chunk is its own run and commits on its own, so a large backfill
 * reports progress, survives an interruption with everything before it stored, and the same command
 * resumes at the first chunk not completed.
 */
export async function backfillInChunks(
  stores: Pick<Stores, 'forecasts' | 'runs'>,
  journal: ChunkJournal,
  resolver: ModelResolver,
  request: ChunkedBackfillRequest,
): Promise<ChunkedBackfillSummary> {
  const scope = backfillScope(request.seriesNames);
  const chunks = timeChunks(request.from, request.to, request.chunkHours);
  const done = request.restart ? new Set<string>() : await journal.completedChunks('backfill', scope);
  const total = { forecastsWritten: 0, fallbackOrigins: 0, failedOrigins: 0 };
  const failed = new Set<string>();
  const runIds: number[] = [];
  let skippedChunks = 0;
  for (const [index, chunk] of chunks.entries()) {
    if (done.has(chunk.key)) {
      skippedChunks++;
      request.onChunk?.({ chunk, index, total: chunks.length, skipped: true });
      continue;
    }
    const summary = await runBackfill(stores, resolver, {
      ...request,
      from: chunk.from,
      to: chunk.to,
      journal: { scope, chunk: chunk.key },
    });
    runIds.push(summary.runId);
    total.forecastsWritten += summary.forecastsWritten;
    total.fallbackOrigins += summary.fallbackOrigins;
    total.failedOrigins += summary.failedOrigins;
    for (const name of summary.failedSeries) failed.add(name);
    request.onChunk?.({ chunk, index, total: chunks.length, skipped: false, summary });
  }
  return { chunks: chunks.length, skippedChunks, runIds, ...total, failedSeries: [...failed] };
}

export interface ChunkedEvaluationRequest {
  readonly since: number;
  readonly until: number;
  readonly now: number;
  readonly trigger: string;
  readonly chunkHours: number;
  readonly restart?: boolean;
  readonly onChunk?: (event: ChunkEvent & { summary?: EvaluationSummary }) => void;
}

export interface ChunkedEvaluationSummary extends ChunkedSummary {
  readonly scored: number;
  readonly rescored: number;
  /** The last chunk's summary, with the refreshed rolling metrics. */
  readonly last: EvaluationSummary;
}

/**
 * A re-scoring of [since, until] in bounded chunks, each its own committed run (so no statement meets the
 * statement timeout however large the period), resuming where an earlier invocation stopped. The rolling
 * metrics are refreshed once, by the last chunk, which always runs.
 */
export async function evaluateInChunks(
  stores: Pick<Stores, 'evaluations' | 'runs'>,
  journal: ChunkJournal,
  request: ChunkedEvaluationRequest,
): Promise<ChunkedEvaluationSummary> {
  const scope = 'evaluate';
  const chunks = timeChunks(request.since, request.until, request.chunkHours);
  const done = request.restart ? new Set<string>() : await journal.completedChunks('evaluate', scope);
  let scored = 0;
  let rescored = 0;
  let skippedChunks = 0;
  const runIds: number[] = [];
  let last: EvaluationSummary | undefined;
  for (const [index, chunk] of chunks.entries()) {
    const isLast = index === chunks.length - 1;
    if (!isLast && done.has(chunk.key)) {
      skippedChunks++;
      request.onChunk?.({ chunk, index, total: chunks.length, skipped: true });
      continue;
    }
    const summary = await runEvaluation(stores, {
      now: request.now,
      trigger: request.trigger,
      since: chunk.from,
      until: chunk.to,
      refreshRollups: isLast,
      journal: { scope, chunk: chunk.key },
    });
    runIds.push(summary.runId);
    scored += summary.scored;
    rescored += summary.rescored;
    last = summary;
    request.onChunk?.({ chunk, index, total: chunks.length, skipped: false, summary });
  }
  return { chunks: chunks.length, skippedChunks, runIds, scored, rescored, last: last! };
}

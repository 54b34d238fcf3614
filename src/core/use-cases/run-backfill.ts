import {
  FALLBACK_HISTORY_HOURS,
  forecastOrigins,
  type ForecastOrigin,
  type ModelResolver,
} from '../forecasting.ts';
import type { Stores } from '../ports/stores.ts';
import { HOUR_MS, toIso } from '../time.ts';
import { InputError } from '../errors.ts';
import type { WindowCheckOptions } from '../validation.ts';
import { recordRun } from './record-run.ts';
import { writeIsolated } from './write-isolated.ts';
import type { JournalEntry } from './run-in-chunks.ts';

export interface BackfillRequest {
  /** First and last target hour to cover with 1-hour-ahead forecasts (inclusive). */
  readonly from: number;
  readonly to: number;
  readonly seriesNames?: readonly string[];
  readonly trigger: string;
  readonly checks?: WindowCheckOptions;
  /** Origins forecast and written per batch; bounds memory. */
  readonly batchOrigins?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Recorded with the run, so a chunked backfill can resume where it stopped (run-in-chunks.ts). */
  readonly journal?: JournalEntry;
}

export interface BackfillSummary {
  readonly runId: number;
  readonly seriesCount: number;
  readonly origins: number;
  readonly forecastsWritten: number;
  readonly fallbackOrigins: number;
  /** Origins for which not even a baseline could be made (stored as 'missed' rows). */
  readonly failedOrigins: number;
  /** Series whose forecasts could not be stored (the others were). */
  readonly failedSeries: string[];
}

/** One year is the most a single invoke may backfill, so a Lambda run stays well inside its timeout. */
export const MAX_BACKFILL_HOURS = 366 * 24;

/** The first and last origin of the 1-hour-ahead forecasts of [from, to]; a reversed or too long range is refused. */
function backfillOrigins(from: number, to: number): { firstOrigin: number; lastOrigin: number } {
  if (!(from <= to))
    throw new InputError(`backfill "from" (${toIso(from)}) must not be after "to" (${toIso(to)})`);
  if ((to - from) / HOUR_MS + 1 > MAX_BACKFILL_HOURS) {
    throw new InputError(
      `backfill range ${toIso(from)} … ${toIso(to)} is longer than ${MAX_BACKFILL_HOURS} hours; split it`,
    );
  }
  return { firstOrigin: from - HOUR_MS, lastOrigin: to - HOUR_MS };
}

/**
 * Forecasts every hour of [from, to] as if made at its time: each origin sees only the actuals of the
 * hours up to it (the window ends at the origin), and is issued one hour after it.
 */
export async function runBackfill(
  stores: Pick<Stores, 'forecasts' | 'runs'>,
  resolver: ModelResolver,
  request: BackfillRequest,
): Promise<BackfillSummary> {
  const { firstOrigin, lastOrigin } = backfillOrigins(request.from, request.to);
  const historyHours = Math.max(resolver.maxWindowHours, FALLBACK_HISTORY_HOURS);
  return recordRun(
    stores.runs,
    { functionName: 'backfill', trigger: request.trigger, scheduledFor: null },
    async (runId) => {
      const histories = await stores.forecasts.readHistory({
        seriesNames: request.seriesNames,
        from: firstOrigin - (historyHours - 1) * HOUR_MS,
        to: lastOrigin,
      });
      await resolver.prepare?.(histories.map((h) => h.series));
      // A backfill writes into the past, where the store's months are usually not made yet.
      if (histories.length > 0) await stores.forecasts.prepareWrites({ firstOrigin, lastOrigin });
      const origins: ForecastOrigin[] = [];
      for (const history of histories) {
        for (let origin = firstOrigin; origin <= lastOrigin; origin += HOUR_MS) {
          origins.push({ history, origin, issuedAt: origin + HOUR_MS });
        }
      }
      // Batches of equal size (at most batchOrigins): a small last batch would be written without the bulk
      // path and would leave its inference alone, with no write to overlap.
      const batches = Math.ceil(origins.length / (request.batchOrigins ?? 4096));
      const batchSize = Math.ceil(origins.length / Math.max(1, batches));
      let written = 0;
      let fallbackOrigins = 0;
      let failedOrigins = 0;
      // The next batch is forecast while the previous one is written: model and database work overlap.
      let writing: Promise<number> = Promise.resolve(0);
      const names = new Map(histories.map((h) => [h.series.id, h.series.name]));
      const writeFailures = new Map<string, string>();
      for (let i = 0; i < origins.length; i += batchSize) {
        const outcome = await forecastOrigins(origins.slice(i, i + batchSize), resolver, {
          checks: request.checks,
        });
        written += await writing;
        writing = writeIsolated(stores.forecasts, outcome.forecasts, runId, names).then((w) => {
          for (const f of w.failures) writeFailures.set(f.seriesName, f.reason);
          return w.written;
        });
        writing.catch(() => undefined); // awaited below; this only stops an early "unhandled" report
        fallbackOrigins += outcome.fallbackOrigins;
        failedOrigins += outcome.failures.length;
        request.onProgress?.(Math.min(i + batchSize, origins.length), origins.length);
      }
      written += await writing;
      const summary = {
        seriesCount: histories.length,
        origins: origins.length,
        forecastsWritten: written,
        fallbackOrigins,
        failedOrigins,
        failedSeries: [...writeFailures.keys()],
      };
      const failed = failedOrigins > 0 || writeFailures.size > 0;
      return {
        summary,
        finish: {
          outcome: failed ? 'partial' : 'success',
          seriesCount: histories.length,
          rowsWritten: written,
          fallbackCount: fallbackOrigins,
          failedCount: failedOrigins + writeFailures.size,
          error: writeFailures.size
            ? [...writeFailures].map(([name, reason]) => `${name}: ${reason}`).join('; ')
            : null,
          details: {
            from: toIso(request.from),
            to: toIso(request.to),
            origins: origins.length,
            ...request.journal,
          },
        },
      };
    },
  );
}

import { checkCalendar } from '../calendar/validate.ts';
import type { ActualsSource } from '../ports/actuals-source.ts';
import type { Stores } from '../ports/stores.ts';
import type { SeriesInfo } from '../series.ts';
import { floorToHour, HOUR_MS, toIso } from '../time.ts';
import { recordRun } from './record-run.ts';

export interface IngestRequest {
  readonly series: SeriesInfo;
  readonly now: number;
  readonly trigger: string;
  /** Provisional values are revised for days: every run re-reads this many trailing hours. Default 14 days. */
  readonly trailingHours?: number;
}

export interface IngestSummary {
  readonly runId: number;
  readonly fetched: number;
  readonly inserted: number;
  readonly revised: number;
  readonly unchanged: number;
  readonly newestHour: string | null;
}

export const DEFAULT_INGEST_TRAILING_HOURS = 14 * 24;

/**
 * Pulls the trailing window of actuals from the source and upserts them, counting revisions. A series whose
 * time zone or country is unusable (stored before the checks existed, or written by SQL) is refused before
 * anything is fetched, with a CalendarError naming it; the run is recorded as failed.
 */
export async function runIngest(
  stores: Pick<Stores, 'actuals' | 'runs'>,
  source: ActualsSource,
  request: IngestRequest,
): Promise<IngestSummary> {
  const to = floorToHour(request.now);
  const from = to - (request.trailingHours ?? DEFAULT_INGEST_TRAILING_HOURS) * HOUR_MS;
  return recordRun(
    stores.runs,
    { functionName: 'ingest', trigger: request.trigger, scheduledFor: to },
    async () => {
      checkCalendar(request.series, `ingest of series "${request.series.name}"`);
      const fetched = await source.fetch({ from, to });
      const result = await stores.actuals.upsertActuals(request.series.id, fetched, request.now);
      const newest = fetched.length ? toIso(fetched[fetched.length - 1]!.hour) : null;
      const summary = { fetched: fetched.length, ...result, newestHour: newest };
      return {
        summary,
        finish: {
          outcome: 'success',
          seriesCount: 1,
          rowsWritten: result.inserted + result.revised,
          fallbackCount: 0,
          failedCount: 0,
          error: null,
          details: { source: source.name, series: request.series.name, ...summary },
        },
      };
    },
  );
}

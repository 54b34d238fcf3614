import { forecastOrigins, type ForecasterResolver, type ForecastFailure } from '../forecasting.ts';
import type { ForecastStore } from '../ports/stores.ts';
import type { WindowCheckOptions } from '../validation.ts';
import { floorToHour, HOUR_MS } from '../time.ts';
import { recordRun } from './record-run.ts';

export interface ForecastResolver extends ForecasterResolver {
  /** The longest window any model needs, so one read serves every series. */
  readonly maxWindowHours: number;
}

export interface ForecastRunRequest {
  /** When the run happens (the scheduled event's time): only hours that ended by then are used. */
  readonly asOf: number;
  readonly trigger: string;
  readonly seriesNames?: readonly string[];
  readonly checks?: WindowCheckOptions;
}

export interface ForecastRunSummary {
  readonly runId: number;
  readonly seriesCount: number;
  readonly forecastsWritten: number;
  readonly okSeries: number;
  readonly fallbackSeries: number;
  readonly failures: ForecastFailure[];
  readonly fallbackReasons: Record<string, number>;
  /** Hours since the newest actual of the stalest series ended; NaN when there is no series. */
  readonly maxStalenessHours: number;
}

/** Hours a fallback may need (two weeks), beyond the model's window. */
const FALLBACK_HISTORY_HOURS = 336;

/**
 * The hourly job: read every series' newest window in one query, forecast 1…H hours past its newest
 * actual (each with its true horizon), store them in one upsert, and record the run.
 */
export async function runForecast(
  store: ForecastStore,
  resolver: ForecastResolver,
  request: ForecastRunRequest,
): Promise<ForecastRunSummary> {
  const scheduledFor = floorToHour(request.asOf);
  return recordRun(
    store,
    { functionName: 'forecast', trigger: request.trigger, scheduledFor },
    async (runId) => {
      const histories = await store.readLatestWindows({
        asOf: request.asOf,
        hours: Math.max(resolver.maxWindowHours, FALLBACK_HISTORY_HOURS),
        seriesNames: request.seriesNames,
      });
      const origins = histories.map((history) => ({
        history,
        origin: history.start + (history.values.length - 1) * HOUR_MS,
        issuedAt: request.asOf,
      }));
      const outcome = await forecastOrigins(origins, resolver, { checks: request.checks });
      const written = await store.writePredictions(outcome.rows, runId);
      const maxStalenessHours = origins.length
        ? Math.max(...origins.map((o) => (request.asOf - (o.origin + HOUR_MS)) / HOUR_MS))
        : NaN;
      const summary = {
        seriesCount: histories.length,
        forecastsWritten: written,
        okSeries: outcome.okOrigins,
        fallbackSeries: outcome.fallbackOrigins,
        failures: outcome.failures,
        fallbackReasons: outcome.fallbackReasons as Record<string, number>,
        maxStalenessHours,
      };
      return {
        summary,
        finish: {
          outcome:
            outcome.failures.length === 0
              ? 'success'
              : outcome.failures.length < histories.length
                ? 'partial'
                : 'failed',
          seriesCount: histories.length,
          rowsWritten: written,
          fallbackCount: outcome.fallbackOrigins,
          failedCount: outcome.failures.length,
          error: outcome.failures.length
            ? outcome.failures.map((f) => `${f.seriesName}: ${f.reason}`).join('; ')
            : null,
          details: { fallbackReasons: outcome.fallbackReasons, maxStalenessHours },
        },
      };
    },
  );
}

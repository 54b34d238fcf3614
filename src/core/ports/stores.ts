import type { ActualRow } from '../csv.ts';
import type { OriginForecast } from '../predictions.ts';
import type { SeriesHistory, SeriesInfo } from '../series.ts';

export type FunctionName = 'forecast' | 'evaluate' | 'ingest' | 'backfill' | 'weather';
export type RunOutcome = 'success' | 'partial' | 'failed' | 'skipped';

export interface RunStart {
  readonly functionName: FunctionName;
  readonly trigger: string;
  readonly scheduledFor: number | null;
}

export interface RunFinish {
  readonly outcome: RunOutcome;
  readonly durationMs: number;
  readonly seriesCount: number;
  readonly rowsWritten: number;
  readonly fallbackCount: number;
  readonly failedCount: number;
  readonly error: string | null;
  readonly details: Record<string, unknown>;
}

/** Where runs are recorded for health monitoring. */
export interface RunLog {
  startRun(run: RunStart): Promise<number>;
  finishRun(runId: number, finish: RunFinish): Promise<void>;
}

export interface LatestWindowsRequest {
  /** Only actuals of hours that ended by this time are used. */
  readonly asOf: number;
  /** Hours of history to return per series, ending at its newest actual. */
  readonly hours: number;
  /** Series names; undefined = every active series. */
  readonly seriesNames?: readonly string[];
}

export interface HistoryRequest {
  readonly seriesNames?: readonly string[];
  readonly from: number;
  readonly to: number;
}

/** The series Pulse knows. */
export interface SeriesStore {
  findSeries(names: readonly string[]): Promise<SeriesInfo[]>;
}

export interface ForecastStore {
  /** Newest history of each series (one query for all). */
  readLatestWindows(request: LatestWindowsRequest): Promise<SeriesHistory[]>;
  /** History of each series over [from, to] (one query for all). */
  readHistory(request: HistoryRequest): Promise<SeriesHistory[]>;
  /**
   * Stores forecasts; one already stored for the same series, model and origin is kept, never
   * overwritten. Returns the forecasts (origin × horizon) inserted, as forecastsIn counts them.
   */
  writeForecasts(forecasts: readonly OriginForecast[], runId: number | null): Promise<number>;
  /**
   * Makes room for forecasts made from origins in [firstOrigin, lastOrigin] before a bulk write into the
   * past (one statement): without it the first write into each month not made yet is refused and sent
   * again. Writes are correct without it; it only spares them that refused first attempt.
   */
  prepareWrites(span: { readonly firstOrigin: number; readonly lastOrigin: number }): Promise<void>;
  /**
   * Per (series id, model version) asked for, the newest origin (last input hour) any stored forecast was
   * made from, or nothing when none is stored. One query for all.
   */
  latestForecastOrigins(streams: readonly ForecastStream[]): Promise<Map<string, number>>;
}

/** A forecast stream: one series forecast by one model version. */
export interface ForecastStream {
  readonly seriesId: number;
  readonly modelVersion: string;
}

/** Key of a stream in maps returned by the store. */
export function streamKey(stream: ForecastStream): string {
  return `${stream.seriesId}|${stream.modelVersion}`;
}

export interface ScoreRequest {
  /**
   * Re-examine every prediction with a target hour in [since, until]. Without it, only predictions whose
   * actual arrived or changed since the last evaluation are examined (the hourly case).
   */
  readonly since?: number;
  readonly until: number;
  readonly now: number;
}

export interface ScoreResult {
  readonly scored: number;
  readonly rescored: number;
  /** Oldest transaction not yet seen (incremental runs only); recorded with the run, read by the next. */
  readonly watermark: string | null;
}

export interface RollupSummary {
  readonly seriesName: string;
  readonly modelVersion: string;
  readonly horizon: number;
  readonly windowName: string;
  readonly n: number;
  readonly mape: number | null;
  readonly fallbackRate: number | null;
}

export interface EvaluationStore {
  /** Scores matured unscored predictions and re-scores those whose actual changed (set-based). */
  scorePredictions(request: ScoreRequest): Promise<ScoreResult>;
  /** Recomputes the 24 h / 7 d / 30 d rollups ending at `now`; returns the all-horizons rows (horizon 0). */
  refreshRollups(now: number): Promise<RollupSummary[]>;
}

export interface ActualsUpsertResult {
  readonly inserted: number;
  readonly revised: number;
  readonly unchanged: number;
}

export interface ActualsStore {
  /**
   * Stores new values and revisions; a revision keeps the value it replaces as an earlier version.
   * `importId` names the import the values come from (null for ingest).
   */
  upsertActuals(
    seriesId: number,
    rows: readonly ActualRow[],
    receivedAt: number,
    importId?: number | null,
  ): Promise<ActualsUpsertResult>;
}

/** One store per port; the use cases take the ones they need. */
export interface Stores {
  readonly runs: RunLog;
  readonly series: SeriesStore;
  readonly actuals: ActualsStore;
  readonly forecasts: ForecastStore;
  readonly evaluations: EvaluationStore;
}

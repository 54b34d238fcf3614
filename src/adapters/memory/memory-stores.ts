import type { ActualRow } from '../../core/csv.ts';
import { ErrorAccumulator } from '../../core/metrics.ts';
import { forecastsIn, horizonRows, type OriginForecast, type PredictionRow } from '../../core/predictions.ts';
import {
  streamKey,
  type ActualsStore,
  type ActualsUpsertResult,
  type EvaluationStore,
  type ForecastStore,
  type ForecastStream,
  type HistoryRequest,
  type LatestWindowsRequest,
  type RollupSummary,
  type RunFinish,
  type RunLog,
  type RunStart,
  type ScoreRequest,
  type ScoreResult,
  type SeriesStore,
  type Stores,
} from '../../core/ports/stores.ts';
import type { SeriesHistory, SeriesInfo } from '../../core/series.ts';
import { HOUR_MS } from '../../core/time.ts';

/** A recorded run: what it started with and, once finished, how it ended. */
export interface MemoryRun extends RunStart {
  readonly id: number;
  finish?: RunFinish;
}

export interface StoredPrediction extends PredictionRow {
  readonly runId: number | null;
}

export interface StoredEvaluation {
  readonly row: StoredPrediction;
  readonly actual: number;
  readonly persistenceAbsError: number | null;
}

const ROLLUP_WINDOWS = [
  ['24h', 24],
  ['7d', 168],
  ['30d', 720],
] as const;
/** The first evaluation (no window given) looks this far back, as the PostgreSQL store does. */
const FIRST_LOOKBACK_MS = 35 * 24 * HOUR_MS;

const predictionKey = (r: Pick<PredictionRow, 'seriesId' | 'targetHour' | 'horizon' | 'modelVersion'>) =>
  `${r.seriesId}|${r.targetHour}|${r.horizon}|${r.modelVersion}`;

/**
 * The store ports in memory, with the PostgreSQL stores' semantics (keyed upserts that keep what is
 * stored, revisions counted, windows ending at each series' newest actual), so the core's use cases can
 * be tested on their own. Not for production: nothing is persisted and nothing is concurrent.
 */
export class MemoryStores implements Stores {
  readonly seriesById = new Map<number, SeriesInfo & { active: boolean }>();
  /** Per series: hour → value. */
  readonly actualValues = new Map<number, Map<number, number>>();
  readonly predictions = new Map<string, StoredPrediction>();
  readonly evaluationRows = new Map<string, StoredEvaluation>();
  readonly runLog: MemoryRun[] = [];

  /** Adds a series (active), like `PostgresSeriesStore.ensureSeries` for one new name. */
  addSeries(series: Partial<SeriesInfo> & Pick<SeriesInfo, 'name'>): SeriesInfo {
    const info = {
      id: this.seriesById.size + 1,
      unit: 'MWh',
      timezone: 'UTC',
      country: null,
      modelVersion: null,
      minPlausible: null,
      maxPlausible: null,
      ...series,
      active: true,
    };
    this.seriesById.set(info.id, info);
    return info;
  }

  readonly runs: RunLog = {
    startRun: async (run) => {
      const id = this.runLog.length + 1;
      this.runLog.push({ ...run, id });
      return id;
    },
    finishRun: async (runId, finish) => {
      const run = this.runLog.find((r) => r.id === runId);
      if (!run) throw new Error(`no run ${runId}`);
      run.finish = finish;
    },
  };

  readonly series: SeriesStore = {
    findSeries: async (names) =>
      [...this.seriesById.values()].filter((s) => names.includes(s.name)).map(withoutActive),
  };

  readonly actuals: ActualsStore = {
    upsertActuals: async (seriesId: number, rows: readonly ActualRow[]): Promise<ActualsUpsertResult> => {
      let values = this.actualValues.get(seriesId);
      if (!values) this.actualValues.set(seriesId, (values = new Map()));
      let inserted = 0;
      let revised = 0;
      for (const r of rows) {
        const before = values.get(r.hour);
        if (before === undefined) inserted++;
        else if (before !== r.value) revised++;
        else continue;
        values.set(r.hour, r.value);
      }
      return { inserted, revised, unchanged: rows.length - inserted - revised };
    },
  };

  readonly forecasts: ForecastStore = {
    readLatestWindows: async (request: LatestWindowsRequest): Promise<SeriesHistory[]> =>
      this.activeSeries(request.seriesNames).flatMap((series) => {
        const hours = [...(this.actualValues.get(series.id)?.keys() ?? [])].filter(
          (h) => h <= request.asOf - HOUR_MS,
        );
        if (hours.length === 0) return [];
        const origin = Math.max(...hours);
        return [this.history(series, origin - (request.hours - 1) * HOUR_MS, origin)];
      }),
    readHistory: async (request: HistoryRequest): Promise<SeriesHistory[]> =>
      this.activeSeries(request.seriesNames).map((series) => this.history(series, request.from, request.to)),
    writeForecasts: async (forecasts: readonly OriginForecast[], runId: number | null): Promise<number> => {
      let inserted = 0;
      for (const forecast of forecasts) {
        const rows = horizonRows(forecast);
        // a stored forecast is kept, never overwritten
        if (rows.some((row) => this.predictions.has(predictionKey(row)))) continue;
        for (const row of rows) this.predictions.set(predictionKey(row), { ...row, runId });
        inserted += forecastsIn(forecast);
      }
      return inserted;
    },
    prepareWrites: async (): Promise<void> => undefined, // a map needs no room made
    latestForecastOrigins: async (streams: readonly ForecastStream[]): Promise<Map<string, number>> => {
      const wanted = new Set(streams.map(streamKey));
      const found = new Map<string, number>();
      for (const p of this.predictions.values()) {
        const key = streamKey(p);
        if (p.horizon !== 1 || !wanted.has(key)) continue;
        found.set(key, Math.max(found.get(key) ?? -Infinity, p.lastInputHour));
      }
      return found;
    },
  };

  readonly evaluations: EvaluationStore = {
    scorePredictions: async (request: ScoreRequest): Promise<ScoreResult> => {
      const since = request.since ?? request.until - FIRST_LOOKBACK_MS;
      let scored = 0;
      let rescored = 0;
      for (const [key, row] of this.predictions) {
        if (row.value === null || row.targetHour < since || row.targetHour > request.until) continue;
        const values = this.actualValues.get(row.seriesId);
        const actual = values?.get(row.targetHour);
        if (actual === undefined) continue;
        const reference = values!.get(row.lastInputHour);
        const persistenceAbsError = reference === undefined ? null : Math.abs(actual - reference);
        const before = this.evaluationRows.get(key);
        if (before && before.actual === actual && before.persistenceAbsError === persistenceAbsError)
          continue;
        this.evaluationRows.set(key, { row, actual, persistenceAbsError });
        if (before) rescored++;
        else scored++;
      }
      return { scored, rescored, watermark: null };
    },
    refreshRollups: async (now: number): Promise<RollupSummary[]> => {
      const windowEnd = Math.floor(now / HOUR_MS) * HOUR_MS;
      const groups = new Map<string, { seriesId: number; modelVersion: string; rows: StoredEvaluation[] }>();
      for (const e of this.evaluationRows.values()) {
        const key = `${e.row.seriesId}|${e.row.modelVersion}`;
        let group = groups.get(key);
        if (!group)
          groups.set(key, (group = { seriesId: e.row.seriesId, modelVersion: e.row.modelVersion, rows: [] }));
        group.rows.push(e);
      }
      const summaries: RollupSummary[] = [];
      for (const group of groups.values()) {
        for (const [windowName, hours] of ROLLUP_WINDOWS) {
          const rows = group.rows.filter(
            (e) => e.row.targetHour > windowEnd - hours * HOUR_MS && e.row.targetHour <= windowEnd,
          );
          if (rows.length === 0) continue;
          // The core's in-memory error metrics, which agree with the SQL functions (metrics-defined-once test).
          const errors = new ErrorAccumulator();
          for (const e of rows) errors.add(e.row.value!, e.actual);
          const mape = errors.summary().mape;
          const fallbacks = rows.filter((e) => e.row.quality === 'fallback').length;
          summaries.push({
            seriesName: this.seriesById.get(group.seriesId)!.name,
            modelVersion: group.modelVersion,
            horizon: 0,
            windowName,
            n: rows.length,
            mape: Number.isNaN(mape) ? null : mape,
            fallbackRate: (100 * fallbacks) / rows.length,
          });
        }
      }
      return summaries;
    },
  };

  /** Stored forecasts, oldest target first. */
  predictionRows(filter: (row: StoredPrediction) => boolean = () => true): StoredPrediction[] {
    return [...this.predictions.values()]
      .filter(filter)
      .sort((a, b) => a.lastInputHour - b.lastInputHour || a.horizon - b.horizon);
  }

  private activeSeries(names: readonly string[] | undefined): SeriesInfo[] {
    return [...this.seriesById.values()]
      .filter((s) => s.active && (names === undefined || names.includes(s.name)))
      .sort((a, b) => a.id - b.id)
      .map(withoutActive);
  }

  private history(series: SeriesInfo, from: number, to: number): SeriesHistory {
    const length = Math.round((to - from) / HOUR_MS) + 1;
    const values = new Float64Array(length).fill(NaN);
    for (const [hour, value] of this.actualValues.get(series.id) ?? []) {
      const i = Math.round((hour - from) / HOUR_MS);
      if (i >= 0 && i < length) values[i] = value;
    }
    return { series, start: from, values };
  }
}

function withoutActive({ active: _active, ...series }: SeriesInfo & { active: boolean }): SeriesInfo {
  return series;
}

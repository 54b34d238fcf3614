import type { ActualRow } from '../../core/csv.ts';
import { DatabaseError } from '../../core/errors.ts';
import type { PredictionRow } from '../../core/predictions.ts';
import type {
  ActualsStore,
  ActualsUpsertResult,
  EvaluationStore,
  ForecastStore,
  ForecastStream,
  HistoryRequest,
  LatestWindowsRequest,
  RollupSummary,
  RunFinish,
  RunStart,
  ScoreRequest,
  ScoreResult,
} from '../../core/ports/stores.ts';
import { streamKey } from '../../core/ports/stores.ts';
import type { SeriesHistory, SeriesInfo } from '../../core/series.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { Sql } from './client.ts';
import { toSeriesInfo, type SeriesRow } from './series-repository.ts';

interface HistoryRow extends SeriesRow {
  first_hour: number | null;
  hours: number[] | null;
  vals: number[] | null;
}

/** The first evaluation ever (no watermark yet) looks this far back. */
const DEFAULT_FIRST_LOOKBACK_MS = 35 * 24 * HOUR_MS;

/** Largest number of prediction rows per statement: keeps one statement's arrays to a few MB. */
const WRITE_CHUNK_ROWS = 100_000;

/**
 * The PostgreSQL adapter of the core's store ports. Every method is one set-based statement (or one
 * short transaction), whatever the number of series or rows.
 */
export class PostgresPulseStore implements ForecastStore, EvaluationStore, ActualsStore {
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

  async findSeries(names: readonly string[]): Promise<SeriesInfo[]> {
    const rows = await this.sql<SeriesRow[]>`
      select id, name, unit, timezone, country, model_version, min_plausible, max_plausible
      from series where name = any(${names as string[]}) order by id`;
    return rows.map(toSeriesInfo);
  }

  async readLatestWindows(request: LatestWindowsRequest): Promise<SeriesHistory[]> {
    const names = request.seriesNames ? [...request.seriesNames] : null;
    const rows = await this.sql<HistoryRow[]>`
      select s.id, s.name, s.unit, s.timezone, s.country, s.model_version, s.min_plausible, s.max_plausible,
             extract(epoch from l.origin)::float8 * 1000 - ${(request.hours - 1) * HOUR_MS}::float8 as first_hour,
             w.hours, w.vals
      from series s
      cross join lateral (
        select max(a.hour) as origin from actuals a
        where a.series_id = s.id and a.hour <= ${new Date(request.asOf - HOUR_MS)}
      ) l
      cross join lateral (
        select array_agg(extract(epoch from a.hour)::float8 * 1000 order by a.hour) as hours,
               array_agg(a.value order by a.hour) as vals
        from actuals a
        where a.series_id = s.id
          and a.hour > l.origin - ${request.hours} * interval '1 hour' and a.hour <= l.origin
      ) w
      where s.active and l.origin is not null
        and (${names}::text[] is null or s.name = any(${names}::text[]))
      order by s.id`;
    return rows.map((r) => toHistory(r, r.first_hour!, request.hours));
  }

  async readHistory(request: HistoryRequest): Promise<SeriesHistory[]> {
    const names = request.seriesNames ? [...request.seriesNames] : null;
    const length = Math.round((request.to - request.from) / HOUR_MS) + 1;
    const rows = await this.sql<HistoryRow[]>`
      select s.id, s.name, s.unit, s.timezone, s.country, s.model_version, s.min_plausible, s.max_plausible,
             w.hours, w.vals
      from series s
      cross join lateral (
        select array_agg(extract(epoch from a.hour)::float8 * 1000 order by a.hour) as hours,
               array_agg(a.value order by a.hour) as vals
        from actuals a
        where a.series_id = s.id and a.hour between ${new Date(request.from)} and ${new Date(request.to)}
      ) w
      where s.active and (${names}::text[] is null or s.name = any(${names}::text[]))
      order by s.id`;
    return rows.map((r) => toHistory(r, request.from, length));
  }

  async latestForecastOrigins(streams: readonly ForecastStream[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (streams.length === 0) return found;
    // Every origin stores a horizon-1 row, so the newest one is a backward index scan on the primary key.
    const rows = await this.sql<{ series_id: number; model_version: string; origin_ms: number }[]>`
      select s.series_id, s.model_version, l.origin_ms
      from unnest(${streams.map((s) => s.seriesId)}::int[], ${streams.map((s) => s.modelVersion)}::text[])
             as s(series_id, model_version)
      cross join lateral (
        select extract(epoch from max(p.target_hour))::float8 * 1000 - ${HOUR_MS}::float8 as origin_ms
        from predictions p
        where p.series_id = s.series_id and p.model_version = s.model_version and p.horizon = 1
      ) l
      where l.origin_ms is not null`;
    for (const r of rows)
      found.set(streamKey({ seriesId: r.series_id, modelVersion: r.model_version }), r.origin_ms);
    return found;
  }

  async writePredictions(rows: readonly PredictionRow[], runId: number | null): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += WRITE_CHUNK_ROWS) {
      inserted += await this.writePredictionChunk(rows.slice(i, i + WRITE_CHUNK_ROWS), runId);
    }
    return inserted;
  }

  private async writePredictionChunk(rows: readonly PredictionRow[], runId: number | null): Promise<number> {
    if (rows.length === 0) return 0;
    const col = <T>(pick: (r: PredictionRow) => T) => rows.map(pick);
    // An existing forecast under the same key is kept: a repeated or concurrent run changes nothing.
    const result = await this.sql`
      insert into predictions (series_id, model_version, horizon, target_hour, method, value, lower_bound,
                               upper_bound, issued_at, last_input_hour, quality, reason, run_id)
      select series_id, model_version, horizon, to_timestamp(target_ms / 1000.0), method, value, lower_bound,
             upper_bound, to_timestamp(issued_ms / 1000.0), to_timestamp(last_input_ms / 1000.0), quality, reason,
             ${runId}
      from unnest(
        ${col((r) => r.seriesId)}::int[], ${col((r) => r.modelVersion)}::text[], ${col((r) => r.horizon)}::int[],
        ${col((r) => r.targetHour)}::float8[], ${col((r) => r.method)}::text[], ${col((r) => r.value)}::float8[],
        ${col((r) => r.lower)}::float8[], ${col((r) => r.upper)}::float8[], ${col((r) => r.issuedAt)}::float8[],
        ${col((r) => r.lastInputHour)}::float8[], ${col((r) => r.quality)}::text[], ${col((r) => r.reason)}::text[]
      ) as t(series_id, model_version, horizon, target_ms, method, value, lower_bound, upper_bound, issued_ms,
             last_input_ms, quality, reason)
      on conflict (series_id, target_hour, horizon, model_version) do nothing`;
    return result.count;
  }

  async upsertActuals(
    seriesId: number,
    rows: readonly ActualRow[],
    receivedAt: number,
  ): Promise<ActualsUpsertResult> {
    if (rows.length === 0) return { inserted: 0, revised: 0, unchanged: 0 };
    const [counts] = await this.sql<{ inserted: number; revised: number }[]>`
      with upserted as (
        insert into actuals as a (series_id, hour, value, first_received_at, last_received_at)
        select ${seriesId}, to_timestamp(hour_ms / 1000.0), value, ${new Date(receivedAt)}, ${new Date(receivedAt)}
        from unnest(${rows.map((r) => r.hour)}::float8[], ${rows.map((r) => r.value)}::float8[]) as t(hour_ms, value)
        on conflict (series_id, hour) do update
          set value = excluded.value,
              last_received_at = excluded.last_received_at,
              revision_count = a.revision_count + 1,
              changed_xid = pg_current_xact_id()
          where a.value is distinct from excluded.value
        returning (xmax = 0) as inserted
      )
      select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as revised
      from upserted`;
    const inserted = counts!.inserted;
    const revised = counts!.revised;
    return { inserted, revised, unchanged: rows.length - inserted - revised };
  }

  async scorePredictions(request: ScoreRequest): Promise<ScoreResult> {
    const sql = this.sql;
    const until = new Date(request.until);
    let watermark: string | null = null;
    if (request.since === undefined) {
      const [last] = await sql<{ watermark: string | null }[]>`
        select details ->> 'watermark' as watermark from runs
        where function_name = 'evaluate' and outcome = 'success' and details ? 'watermark'
        order by id desc limit 1`;
      watermark = last?.watermark ?? null;
    }
    // Which predictions to look at: a window of target hours, or (the hourly case) only those whose actual
    // — or whose persistence reference, up to 24 h before — changed since the last run. "Since" is by
    // transaction id, not clock: the watermark is the oldest transaction still open at the last run's
    // snapshot, so a write that committed after that snapshot is always seen by the next run.
    const since = new Date(request.since ?? request.until - DEFAULT_FIRST_LOOKBACK_MS);
    const keys = watermark
      ? sql`
          with changed as (
            select series_id, hour from actuals
            where changed_xid >= ${watermark}::xid8
          )
          select p.series_id, p.target_hour, p.horizon, p.model_version
          from changed c join predictions p on p.series_id = c.series_id and p.target_hour = c.hour
          union
          select p.series_id, p.target_hour, p.horizon, p.model_version
          from changed c join predictions p on p.series_id = c.series_id
           and p.target_hour > c.hour and p.target_hour <= c.hour + interval '24 hours'
           and p.last_input_hour = c.hour`
      : sql`
          select series_id, target_hour, horizon, model_version from predictions
          where target_hour between ${since} and ${until}`;
    const [counts] = await sql<{ scored: number; rescored: number; watermark: string }[]>`
      with keys as (${keys}),
      candidates as (
        select p.series_id, p.model_version, p.horizon, p.target_hour, p.value as predicted, p.quality,
               a.value as actual, abs(a.value - pa.value) as persistence_abs_error,
               case when p.lower_bound is null or p.upper_bound is null then null
                    else a.value between p.lower_bound and p.upper_bound end as covered
        from keys k
        join predictions p on p.series_id = k.series_id and p.target_hour = k.target_hour
                          and p.horizon = k.horizon and p.model_version = k.model_version
        join actuals a on a.series_id = p.series_id and a.hour = p.target_hour
        left join actuals pa on pa.series_id = p.series_id and pa.hour = p.last_input_hour
        left join evaluations e on e.series_id = p.series_id and e.target_hour = p.target_hour
                               and e.horizon = p.horizon and e.model_version = p.model_version
        where p.target_hour <= ${until}
          and p.value is not null
          and (e.series_id is null
               or e.actual <> a.value
               or e.persistence_abs_error is distinct from abs(a.value - pa.value))
      ),
      written as (
        insert into evaluations as e (series_id, model_version, horizon, target_hour, predicted, actual, error,
                                      abs_error, squared_error, pct_error, persistence_abs_error, covered, quality,
                                      scored_at)
        select series_id, model_version, horizon, target_hour, predicted, actual, predicted - actual,
               abs(predicted - actual), (predicted - actual) ^ 2,
               case when actual > 0 then abs(predicted - actual) / actual * 100 end,
               persistence_abs_error, covered, quality, ${new Date(request.now)}
        from candidates
        on conflict (series_id, target_hour, horizon, model_version) do update set
          actual = excluded.actual, error = excluded.error, abs_error = excluded.abs_error,
          squared_error = excluded.squared_error, pct_error = excluded.pct_error,
          persistence_abs_error = excluded.persistence_abs_error, covered = excluded.covered,
          scored_at = excluded.scored_at
        returning (xmax = 0) as inserted
      )
      select count(*) filter (where inserted)::int as scored, count(*) filter (where not inserted)::int as rescored,
             pg_snapshot_xmin(pg_current_snapshot())::text as watermark
      from written`;
    return {
      scored: counts!.scored,
      rescored: counts!.rescored,
      // A window re-score does not look at other changes, so only incremental runs move the watermark.
      watermark: request.since === undefined ? counts!.watermark : null,
    };
  }

  async refreshRollups(now: number): Promise<RollupSummary[]> {
    const windowEnd = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
    return this.sql.begin(async (tx) => {
      await tx`delete from metric_rollups`;
      const rows = await tx<
        {
          series_name: string;
          model_version: string;
          horizon: number;
          window_name: string;
          n: number;
          mape: number | null;
          fallback_rate: number | null;
        }[]
      >`
        -- One pass over the last 30 days: sums per horizon and window, then the all-horizons row from them.
        with sums as (
          select e.series_id, e.model_version, e.horizon, w.window_name,
                 count(*)::float8 as n, sum(e.abs_error) as abs_sum, sum(e.squared_error) as sq_sum,
                 sum(e.pct_error) as pct_sum, count(e.pct_error)::float8 as pct_n, sum(e.error) as err_sum,
                 sum(e.persistence_abs_error) as pers_sum, count(e.persistence_abs_error)::float8 as pers_n,
                 count(*) filter (where e.covered)::float8 as covered_n, count(e.covered)::float8 as cover_n,
                 count(*) filter (where e.quality = 'fallback')::float8 as fallback_n
          from evaluations e
          cross join lateral (values ('24h', 24), ('7d', 168), ('30d', 720)) as w (window_name, hours)
          where e.target_hour > ${windowEnd}::timestamptz - interval '720 hours'
            and e.target_hour <= ${windowEnd}::timestamptz
            and e.target_hour > ${windowEnd}::timestamptz - w.hours * interval '1 hour'
          group by e.series_id, e.model_version, e.horizon, w.window_name
        ),
        all_horizons as (
          select * from sums
          union all
          select series_id, model_version, 0, window_name, sum(n), sum(abs_sum), sum(sq_sum), sum(pct_sum),
                 sum(pct_n), sum(err_sum), sum(pers_sum), sum(pers_n), sum(covered_n), sum(cover_n), sum(fallback_n)
          from sums group by series_id, model_version, window_name
        ),
        agg as (
          select series_id, model_version, horizon, window_name, n::int as n,
                 abs_sum / n as mae, sqrt(sq_sum / n) as rmse, pct_sum / nullif(pct_n, 0) as mape,
                 err_sum / n as bias, pers_sum / nullif(pers_n, 0) as persistence_mae,
                 100 * covered_n / nullif(cover_n, 0) as coverage, 100 * fallback_n / n as fallback_rate
          from all_horizons
        ),
        written as (
          insert into metric_rollups (series_id, model_version, horizon, window_name, window_end, n, mae, rmse,
                                      mape, bias, persistence_mae, skill, coverage, fallback_rate)
          select series_id, model_version, horizon, window_name, ${windowEnd}, n, mae, rmse, mape, bias,
                 persistence_mae, case when persistence_mae > 0 then 1 - mae / persistence_mae end, coverage,
                 fallback_rate
          from agg
          returning series_id, model_version, horizon, window_name, n, mape, fallback_rate
        )
        select s.name as series_name, w.model_version, w.horizon, w.window_name, w.n, w.mape, w.fallback_rate
        from written w join series s on s.id = w.series_id
        where w.horizon = 0 -- the caller needs the per-series summary, not every horizon's row`;
      return rows.map((r) => ({
        seriesName: r.series_name,
        modelVersion: r.model_version,
        horizon: r.horizon,
        windowName: r.window_name,
        n: r.n,
        mape: r.mape,
        fallbackRate: r.fallback_rate,
      }));
    }) as Promise<RollupSummary[]>;
  }
}

function toHistory(row: HistoryRow, start: number, length: number): SeriesHistory {
  const values = new Float64Array(length).fill(NaN);
  const hours = row.hours ?? [];
  const vals = row.vals ?? [];
  for (let i = 0; i < hours.length; i++) {
    const index = Math.round((hours[i]! - start) / HOUR_MS);
    if (index < 0 || index >= length)
      throw new DatabaseError(`actual of ${row.name} outside the requested range`);
    values[index] = vals[i]!;
  }
  return { series: toSeriesInfo(row), start, values };
}

import { InputError } from '../../core/errors.ts';
import { HOUR_MS } from '../../core/time.ts';
import type { Sql } from '../postgres/client.ts';
import { PostgresMetricsReport, type MetricsRow as MetricsByHorizonRow } from '../postgres/metrics-report.ts';

export interface ReportRequest {
  /** Series name; default: the first active series by name. */
  readonly series?: string;
  /** Model version; default: the version with the newest 1-hour-ahead forecast of the series. */
  readonly model?: string;
  /** First and last hour (UTC ms); default: up to a year ending at the newest actual. */
  readonly from?: number;
  readonly to?: number;
  /** When the report is made, for the staleness wording (default: now). */
  readonly now?: number;
}

/** The newest forecast of the series (every horizon from its newest origin), with the actuals before it. */
export interface NextHours {
  /** Hour starts in epoch seconds: 48 hours of actuals, then the forecast hours. */
  readonly t: number[];
  readonly actual: (number | null)[];
  readonly forecast: (number | null)[];
  readonly lower: (number | null)[];
  readonly upper: (number | null)[];
  /** The newest actual the forecast starts from (epoch seconds), and when it was issued. */
  readonly origin: number;
  readonly issuedAt: number;
  readonly quality: string;
  readonly method: string;
  /** Plain words when the newest actual is old, else null. */
  readonly staleness: string | null;
}

export interface MetricsRow {
  readonly label: string;
  readonly n: number;
  readonly mae: number | null;
  readonly rmse: number | null;
  readonly mape: number | null;
  readonly bias: number | null;
  /** Percent: 100 · (1 − Σ|error| / Σ|persistence error|), hours with both. */
  readonly skill: number | null;
  readonly coverage: number | null;
  readonly fallbackRate: number | null;
}

/** Everything the page draws, as plain arrays (uPlot's column layout; times in epoch seconds). */
export interface ReportData {
  readonly series: {
    readonly name: string;
    readonly unit: string;
    readonly timezone: string;
    readonly country: string | null;
  };
  readonly model: string | null;
  readonly from: number;
  readonly to: number;
  readonly generatedFor: string;
  readonly hourly: {
    readonly t: number[];
    readonly actual: (number | null)[];
    readonly forecast: (number | null)[];
    readonly lower: (number | null)[];
    readonly upper: (number | null)[];
    readonly fallback: (number | null)[];
    readonly mape24h: (number | null)[];
    readonly mape7d: (number | null)[];
    readonly mape30d: (number | null)[];
  };
  readonly holidays: {
    readonly start: number;
    readonly end: number;
    readonly name: string;
    readonly kind: string;
  }[];
  readonly byHorizon: {
    readonly horizon: number[];
    readonly mae: number[];
    readonly persistenceMae: (number | null)[];
  };
  readonly byHourOfDay: { readonly hour: number[]; readonly mae: number[]; readonly bias: number[] };
  /** Over the report period: 1 hour ahead and all horizons. */
  readonly periodMetrics: MetricsRow[];
  /** As the evaluate function last stored them (rolling windows before its run). */
  readonly rollingMetrics: MetricsRow[];
  /** The newest forecast ("next 24 hours"); null when the model has none. */
  readonly next: NextHours | null;
}

/** Longest period one page shows; an hourly year is about 9,000 points per line, which uPlot draws at once. */
export const MAX_REPORT_HOURS = 366 * 24;

interface SeriesRow {
  id: number;
  name: string;
  unit: string;
  timezone: string;
  country: string | null;
}

async function pickSeries(sql: Sql, name: string | undefined): Promise<SeriesRow> {
  const rows = name
    ? await sql<SeriesRow[]>`select id, name, unit, timezone, country from series where name = ${name}`
    : await sql<
        SeriesRow[]
      >`select id, name, unit, timezone, country from series where active order by name limit 1`;
  if (!rows[0]) throw new InputError(name ? `no series named "${name}"` : 'the database has no series yet');
  return rows[0];
}

/** The model whose 1-hour-ahead forecasts are newest; one index probe per version (loose index scan). */
async function pickModel(sql: Sql, seriesId: number): Promise<string | null> {
  const [row] = await sql<{ model_version: string }[]>`
    with recursive used (model_version) as (
      (select model_version from predictions where series_id = ${seriesId} order by model_version limit 1)
      union all
      select (select p.model_version from predictions p
              where p.series_id = ${seriesId} and p.model_version > u.model_version
              order by p.model_version limit 1)
      from used u where u.model_version is not null
    )
    select u.model_version
    from used u
    cross join lateral (select max(target_hour) as newest from predictions p
                        where p.series_id = ${seriesId} and p.model_version = u.model_version and p.horizon = 1) n
    where u.model_version is not null
    order by n.newest desc nulls last, u.model_version
    limit 1`;
  return row?.model_version ?? null;
}

/** A model asked for by name must have forecasts of the series: an empty report helps nobody. */
async function requireModel(sql: Sql, series: SeriesRow, model: string): Promise<void> {
  const [found] =
    await sql`select 1 from predictions where series_id = ${series.id} and model_version = ${model} limit 1`;
  if (found) return;
  const used = await sql<{ model_version: string }[]>`
    select distinct model_version from predictions where series_id = ${series.id} and horizon = 1 order by 1`;
  throw new InputError(
    `--model ${model}: series ${series.name} has no forecasts by that model (` +
      (used.length
        ? `it has: ${used.map((u) => u.model_version).join(', ')}`
        : 'it has none yet: run "pulse backfill" or "pulse forecast"') +
      ')',
  );
}

async function defaultPeriod(
  sql: Sql,
  seriesId: number,
  model: string | null,
): Promise<{ from: number; to: number }> {
  const [row] = await sql<{ newest: Date | null; first_forecast: Date | null }[]>`
    select (select max(hour) from actuals where series_id = ${seriesId}) as newest,
           (select min(target_hour) from predictions
            where series_id = ${seriesId} and model_version = ${model ?? ''} and horizon = 1) as first_forecast`;
  if (!row?.newest) throw new InputError('the series has no actuals yet');
  const to = row.newest.getTime();
  const yearBack = to - (MAX_REPORT_HOURS - 1) * HOUR_MS;
  const from = row.first_forecast ? Math.max(row.first_forecast.getTime(), yearBack) : to - 30 * 24 * HOUR_MS;
  return { from: Math.min(from, to), to };
}

const n = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** Hours after which the newest actual is called stale in the report (as the forecast's own check). */
const STALE_HOURS = 6;

async function nextHours(
  sql: Sql,
  seriesId: number,
  model: string | null,
  now: number,
): Promise<NextHours | null> {
  if (model === null) return null;
  const rows = await sql<
    {
      target_s: number;
      value: number | null;
      lower_bound: number | null;
      upper_bound: number | null;
      quality: string;
      method: string;
      origin_s: number;
      issued_s: number;
    }[]
  >`
    with newest as (
      select last_input_hour from predictions
      where series_id = ${seriesId} and model_version = ${model} and horizon = 1 and value is not null
      order by target_hour desc limit 1
    )
    select extract(epoch from p.target_hour)::float8 as target_s, p.value, p.lower_bound, p.upper_bound,
           p.quality, p.method, extract(epoch from p.last_input_hour)::float8 as origin_s,
           extract(epoch from p.issued_at)::float8 as issued_s
    from newest n join predictions p on p.series_id = ${seriesId} and p.model_version = ${model}
                                     and p.last_input_hour = n.last_input_hour
    order by p.target_hour`;
  if (rows.length === 0) return null;
  const origin = rows[0]!.origin_s;
  const actuals = await sql<{ t: number; value: number }[]>`
    select extract(epoch from hour)::float8 as t, value from actuals
    where series_id = ${seriesId} and hour > ${new Date((origin - 48 * 3600) * 1000)}
      and hour <= ${new Date(origin * 1000)}
    order by hour`;
  const ageHours = (now / 1000 - (origin + 3600)) / 3600;
  const age = ageHours >= 48 ? `${Math.round(ageHours / 24)} days` : `${Math.round(ageHours)} hours`;
  return {
    t: [...actuals.map((a) => a.t), ...rows.map((r) => r.target_s)],
    actual: [...actuals.map((a) => a.value), ...rows.map(() => null)],
    forecast: [...actuals.map(() => null), ...rows.map((r) => r.value)],
    lower: [...actuals.map(() => null), ...rows.map((r) => r.lower_bound)],
    upper: [...actuals.map(() => null), ...rows.map((r) => r.upper_bound)],
    origin,
    issuedAt: rows[0]!.issued_s,
    quality: rows[0]!.quality,
    method: rows[0]!.method,
    staleness:
      ageHours > STALE_HOURS
        ? `The newest actual is ${age} old: a forecast run now makes fallback forecasts, and the hours below ` +
          `are ${ageHours >= 24 ? 'already past' : 'partly past'}. Import newer actuals to forecast the coming hours.`
        : null,
  };
}

/** Reads one series' actuals, forecasts, scores and holidays for a period, ready to draw. */
export async function loadReportData(sql: Sql, request: ReportRequest): Promise<ReportData> {
  const series = await pickSeries(sql, request.series);
  if (request.model !== undefined) await requireModel(sql, series, request.model);
  const model = request.model ?? (await pickModel(sql, series.id));
  const fallbackPeriod = await defaultPeriod(sql, series.id, model);
  const from = Math.floor((request.from ?? fallbackPeriod.from) / HOUR_MS) * HOUR_MS;
  const to = Math.floor((request.to ?? fallbackPeriod.to) / HOUR_MS) * HOUR_MS;
  if (!(from <= to)) throw new InputError('the report period must not end before it starts');
  if ((to - from) / HOUR_MS + 1 > MAX_REPORT_HOURS)
    throw new InputError('the report period is longer than a year');
  const fromTs = new Date(from);
  const toTs = new Date(to);
  const version = model ?? '';

  const hourly = await sql<
    {
      t: number;
      actual: number | null;
      forecast: number | null;
      lower: number | null;
      upper: number | null;
      quality: string | null;
    }[]
  >`
    select extract(epoch from g.hour)::float8 as t, a.value as actual, p.value as forecast,
           p.lower_bound as lower, p.upper_bound as upper, p.quality
    from generate_series(${fromTs}::timestamptz, ${toTs}::timestamptz, interval '1 hour') as g (hour)
    left join actuals a on a.series_id = ${series.id} and a.hour = g.hour
    left join predictions p on p.series_id = ${series.id} and p.model_version = ${version} and p.horizon = 1
                           and p.target_hour = g.hour
    order by g.hour`;

  // Same windows as metric_rollups: the 24, 168 and 720 hours up to each hour, all horizons.
  const rolling = await sql<{ t: number; day: number | null; week: number | null; month: number | null }[]>`
    with hourly as (
      select hour as target_hour, pct_error_sum as pct_sum, pct_error_n as pct_n
      from error_hours -- the hourly error sums (kept after the raw scores expire)
      where series_id = ${series.id} and model_version = ${version} and n > 0
        and hour > ${fromTs}::timestamptz - interval '30 days' and hour <= ${toTs}
    ),
    windows as (
      select target_hour,
             pulse_mape(sum(pct_sum) over day, sum(pct_n) over day) as day,
             pulse_mape(sum(pct_sum) over week, sum(pct_n) over week) as week,
             pulse_mape(sum(pct_sum) over month, sum(pct_n) over month) as month
      from hourly
      window day as (order by target_hour range between interval '23 hours' preceding and current row),
             week as (order by target_hour range between interval '167 hours' preceding and current row),
             month as (order by target_hour range between interval '719 hours' preceding and current row)
    )
    select extract(epoch from target_hour)::float8 as t, day, week, month
    from windows where target_hour >= ${fromTs}`;
  const rollingAt = new Map(rolling.map((r) => [r.t, r]));

  const holidays = await sql<{ start: number; end: number; name: string; kind: string }[]>`
    select extract(epoch from starts_at)::float8 as start, extract(epoch from ends_at)::float8 as end, name, kind
    from holidays
    where country = ${series.country ?? ''} and starts_at <= ${toTs} and ends_at > ${fromTs}
    order by starts_at`;

  const byHorizon = await sql<{ horizon: number; mae: number; persistence_mae: number | null }[]>`
    select horizon, pulse_mae(sum(abs_error), count(*)) as mae,
           pulse_mae(sum(persistence_abs_error), count(persistence_abs_error)) as persistence_mae
    from evaluations
    where series_id = ${series.id} and model_version = ${version} and target_hour between ${fromTs} and ${toTs}
    group by horizon order by horizon`;

  const byHour = await sql<{ hour: number; mae: number; bias: number }[]>`
    select extract(hour from hour at time zone ${series.timezone})::int as hour,
           pulse_mae(sum(abs_error_sum), sum(n)) as mae, pulse_bias(sum(error_sum), sum(n)) as bias
    from error_hours
    where series_id = ${series.id} and model_version = ${version} and n > 0 and hour between ${fromTs} and ${toTs}
    group by 1 order by 1`;

  type MetricsSql = Omit<MetricsByHorizonRow, 'series' | 'model_version' | 'horizon'> & { label: string };
  // The same figures as `pulse metrics`, for one series and model over the period.
  const period: MetricsSql[] = (
    await new PostgresMetricsReport(sql).byHorizon({
      seriesNames: [series.name],
      modelVersion: version,
      from,
      to,
      horizons: [1],
    })
  )
    .sort((a, b) => b.horizon - a.horizon)
    .map((r) => ({
      ...r,
      label: r.horizon === 1 ? '1 h ahead' : 'all horizons',
      skill: r.skill === null ? null : 100 * r.skill,
    }));

  const stored = await sql<MetricsSql[]>`
    select 'last ' || replace(replace(window_name, 'h', ' h'), 'd', ' d') as label, n, mae, rmse, mape, bias,
           100 * skill as skill, coverage, fallback_rate
    from metric_rollups
    where series_id = ${series.id} and model_version = ${version} and horizon = 0
    order by array_position(array['24h', '7d', '30d'], window_name)`;

  const metrics = (rows: MetricsSql[]): MetricsRow[] =>
    rows.map((r) => ({
      label: r.label,
      n: r.n,
      mae: n(r.mae),
      rmse: n(r.rmse),
      mape: n(r.mape),
      bias: n(r.bias),
      skill: n(r.skill),
      coverage: n(r.coverage),
      fallbackRate: n(r.fallback_rate),
    }));

  return {
    series: { name: series.name, unit: series.unit, timezone: series.timezone, country: series.country },
    model,
    from,
    to,
    generatedFor: `${series.name} · ${model ?? 'no forecasts'}`,
    hourly: {
      t: hourly.map((r) => r.t),
      actual: hourly.map((r) => r.actual),
      forecast: hourly.map((r) => r.forecast),
      lower: hourly.map((r) => r.lower),
      upper: hourly.map((r) => r.upper),
      fallback: hourly.map((r) => (r.quality === 'fallback' ? r.forecast : null)),
      mape24h: hourly.map((r) => n(rollingAt.get(r.t)?.day ?? null)),
      mape7d: hourly.map((r) => n(rollingAt.get(r.t)?.week ?? null)),
      mape30d: hourly.map((r) => n(rollingAt.get(r.t)?.month ?? null)),
    },
    holidays: holidays.map((h) => ({ start: h.start, end: h.end, name: h.name, kind: h.kind })),
    byHorizon: {
      horizon: byHorizon.map((r) => r.horizon),
      mae: byHorizon.map((r) => r.mae),
      persistenceMae: byHorizon.map((r) => r.persistence_mae),
    },
    byHourOfDay: {
      hour: byHour.map((r) => r.hour),
      mae: byHour.map((r) => r.mae),
      bias: byHour.map((r) => r.bias),
    },
    periodMetrics: metrics(period),
    rollingMetrics: metrics(stored),
    next: await nextHours(sql, series.id, model, request.now ?? Date.now()),
  };
}

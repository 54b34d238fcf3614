import { seasonalNaive } from './baselines.ts';
import { holidayKind } from './calendar/holidays.ts';
import type { Forecaster, ForecastResult, ForecastWindow, SeriesCalendar } from './forecaster.ts';
import { ErrorAccumulator, skillScore, type ErrorSummary } from './metrics.ts';
import { completeWindows, hourAt, indexOf, type HourlySeries, windowValues } from './hourly-series.ts';
import { toIso, type HourMs } from './time.ts';
import type { WeatherProvenance, WindowWeather } from './weather.ts';

/** Which hours a score covers: public holidays incl. half-day afternoons, bridge days, the rest. */
export type DayGroup = 'holiday' | 'bridge' | 'ordinary';

export interface HorizonScore {
  readonly horizon: number;
  readonly model: ErrorSummary;
  readonly persistence: ErrorSummary;
  readonly seasonalNaive24: ErrorSummary;
  readonly seasonalNaive168: ErrorSummary;
  /** 1 − MAE / MAE of the reference. */
  readonly skillVsPersistence: number;
  readonly skillVsSeasonalNaive24: number;
  readonly skillVsSeasonalNaive168: number;
  /** Share of actuals inside [lower, upper]; NaN when the model gives no interval. */
  readonly coverage: number;
  /** Mean upper − lower, MWh. */
  readonly meanIntervalWidth: number;
  /** Model errors per day group. */
  readonly byDayGroup: Readonly<Record<DayGroup, ErrorSummary>>;
}

export interface BacktestReport {
  readonly modelVersion: string;
  /** Targets scored lie in [from, to] (UTC hour starts). */
  readonly from: HourMs;
  readonly to: HourMs;
  readonly origins: number;
  readonly horizons: HorizonScore[];
  /** All horizons pooled. */
  readonly overall: { readonly model: ErrorSummary; readonly coverage: number };
  /** Weather models: scored origins by where their target hours' weather came from. */
  readonly weather?: Readonly<Record<WeatherProvenance, number>>;
}

export interface BacktestOptions {
  readonly forecaster: Forecaster;
  readonly calendar: SeriesCalendar;
  readonly seriesId?: number;
  /** First and last target hour scored (inclusive). */
  readonly from: HourMs;
  readonly to: HourMs;
  /** Windows per forecaster call. */
  readonly batchSize?: number;
  /**
   * Use origins whose window of at least this many hours is complete: two models compared on the
   * same period pass the larger of their windows, so both are scored on the very same pairs.
   */
  readonly minWindowHours?: number;
  /**
   * The weather a window at `origin` sees (weather models); undefined = none known. A window without
   * complete weather is forecast by the model's calendar-only model when it has one, as in service.
   */
  readonly weatherFor?: (origin: HourMs) => WindowWeather | undefined;
}

/**
 * Forecasts the windows with the model, except those without complete weather (no weather, or provenance
 * 'missing'): the calendar-only model forecasts those, on its own window length, as the forecast run does.
 */
async function forecastAsServed(
  forecaster: Forecaster,
  windows: readonly ForecastWindow[],
): Promise<ForecastResult[]> {
  const calendarOnly = forecaster.weather?.calendarFallback;
  const degraded = (w: ForecastWindow) => !w.weather || w.weather.provenance === 'missing';
  if (!calendarOnly || !windows.some(degraded)) return forecaster.forecast(windows);
  const withWeather = windows.filter((w) => !degraded(w));
  const without = windows.filter(degraded).map((w) => {
    const { weather: _weather, ...rest } = w;
    return { ...rest, values: w.values.subarray(Math.max(0, w.values.length - calendarOnly.windowHours)) };
  });
  const [a, b] = await Promise.all([
    withWeather.length ? forecaster.forecast(withWeather) : [],
    calendarOnly.forecast(without),
  ]);
  let i = 0;
  let j = 0;
  return windows.map((w) => (degraded(w) ? b[j++]! : a[i++]!));
}

class IntervalAccumulator {
  n = 0;
  inside = 0;
  width = 0;
  add(actual: number, lower: number, upper: number): void {
    this.n++;
    if (actual >= lower && actual <= upper) this.inside++;
    this.width += upper - lower;
  }
}

/**
 * Rolling-origin evaluation: every hour whose window (forecaster.windowHours, at least 168 h for the
 * seasonal references) is complete is an origin; each of its horizons whose target lies in
 * [from, to] and has an actual is scored for the model and for persistence and seasonal naive
 * 24 h / 168 h on the very same pairs.
 */
export async function runBacktest(series: HourlySeries, options: BacktestOptions): Promise<BacktestReport> {
  const { forecaster, calendar, from, to } = options;
  const H = forecaster.horizons;
  const windowHours = Math.max(forecaster.windowHours, 168, options.minWindowHours ?? 0);
  const batchSize = options.batchSize ?? 4096;
  const complete = completeWindows(series, windowHours);
  const firstOrigin = Math.max(indexOf(series, from) - H, windowHours - 1);
  const lastOrigin = Math.min(indexOf(series, to) - 1, series.values.length - 2);

  const model = Array.from({ length: H }, () => new ErrorAccumulator());
  const pers = Array.from({ length: H }, () => new ErrorAccumulator());
  const sn24 = Array.from({ length: H }, () => new ErrorAccumulator());
  const sn168 = Array.from({ length: H }, () => new ErrorAccumulator());
  const groups = Array.from({ length: H }, () => ({
    holiday: new ErrorAccumulator(),
    bridge: new ErrorAccumulator(),
    ordinary: new ErrorAccumulator(),
  }));
  const intervals = Array.from({ length: H }, () => new IntervalAccumulator());
  const all = new ErrorAccumulator();
  const allInterval = new IntervalAccumulator();
  const groupOf = new Map<number, DayGroup>();
  const dayGroup = (hour: HourMs): DayGroup => {
    let g = groupOf.get(hour);
    if (!g) {
      const kind = holidayKind(hour, calendar);
      g = kind === 'holiday' || kind === 'half-day' ? 'holiday' : kind === 'bridge' ? 'bridge' : 'ordinary';
      groupOf.set(hour, g);
    }
    return g;
  };

  let origins = 0;
  const provenance: Record<WeatherProvenance, number> = { vintage: 0, mixed: 0, observed: 0, missing: 0 };
  let batch: { index: number; window: ForecastWindow }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const windows = batch.map((b) => b.window);
    const results = options.weatherFor
      ? await forecastAsServed(forecaster, windows)
      : await forecaster.forecast(windows);
    for (let b = 0; b < batch.length; b++) {
      const { index, window } = batch[b]!;
      const result = results[b]!;
      const p24 = seasonalNaive(window.values, 24, H);
      const p168 = seasonalNaive(window.values, 168, H);
      const last = window.values[window.values.length - 1]!;
      let scored = false;
      for (let h = 1; h <= H; h++) {
        const ti = index + h;
        const target = hourAt(series, ti);
        if (target < from || target > to || ti >= series.values.length) continue;
        const actual = series.values[ti]!;
        if (Number.isNaN(actual)) continue;
        scored = true;
        const predicted = result.values[h - 1]!;
        model[h - 1]!.add(predicted, actual);
        all.add(predicted, actual);
        pers[h - 1]!.add(last, actual);
        sn24[h - 1]!.add(p24[h - 1]!, actual);
        sn168[h - 1]!.add(p168[h - 1]!, actual);
        groups[h - 1]![dayGroup(target)].add(predicted, actual);
        if (result.lower && result.upper) {
          intervals[h - 1]!.add(actual, result.lower[h - 1]!, result.upper[h - 1]!);
          allInterval.add(actual, result.lower[h - 1]!, result.upper[h - 1]!);
        }
      }
      if (scored) {
        origins++;
        const source = window.weather ? window.weather.provenance : 'missing';
        if (options.weatherFor && source) provenance[source]++;
      }
    }
    batch = [];
  };

  for (let i = firstOrigin; i <= lastOrigin; i++) {
    if (!complete[i]) continue;
    const values = windowValues(series, i, windowHours);
    const origin = hourAt(series, i);
    const weather = options.weatherFor?.(origin);
    batch.push({
      index: i,
      window: { seriesId: options.seriesId ?? 0, calendar, origin, values, ...(weather ? { weather } : {}) },
    });
    if (batch.length >= batchSize) await flush();
  }
  await flush();

  const horizons: HorizonScore[] = [];
  for (let h = 0; h < H; h++) {
    const m = model[h]!.summary();
    const p = pers[h]!.summary();
    const s24 = sn24[h]!.summary();
    const s168 = sn168[h]!.summary();
    const iv = intervals[h]!;
    horizons.push({
      horizon: h + 1,
      model: m,
      persistence: p,
      seasonalNaive24: s24,
      seasonalNaive168: s168,
      skillVsPersistence: skillScore(m.mae, p.mae),
      skillVsSeasonalNaive24: skillScore(m.mae, s24.mae),
      skillVsSeasonalNaive168: skillScore(m.mae, s168.mae),
      coverage: iv.n ? iv.inside / iv.n : NaN,
      meanIntervalWidth: iv.n ? iv.width / iv.n : NaN,
      byDayGroup: {
        holiday: groups[h]!.holiday.summary(),
        bridge: groups[h]!.bridge.summary(),
        ordinary: groups[h]!.ordinary.summary(),
      },
    });
  }
  return {
    modelVersion: forecaster.version,
    from,
    to,
    origins,
    horizons,
    overall: { model: all.summary(), coverage: allInterval.n ? allInterval.inside / allInterval.n : NaN },
    ...(options.weatherFor ? { weather: provenance } : {}),
  };
}

/** Fixed-width text table of a report: one row per horizon. */
export function formatBacktestTable(report: BacktestReport, horizons: readonly number[] = []): string {
  const rows = report.horizons.filter((h) => horizons.length === 0 || horizons.includes(h.horizon));
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const header = [
    'h',
    'n',
    'MAE',
    'RMSE',
    'MAPE%',
    'bias',
    'pers MAE',
    'sn24 MAE',
    'sn168 MAE',
    'skill p',
    'skill 24',
    'skill 168',
    'hol MAPE%',
    'brg MAPE%',
    'ord MAPE%',
    'cover%',
  ];
  const lines = rows.map((r) => [
    String(r.horizon),
    String(r.model.n),
    f(r.model.mae),
    f(r.model.rmse),
    f(r.model.mape, 2),
    f(r.model.bias),
    f(r.persistence.mae),
    f(r.seasonalNaive24.mae),
    f(r.seasonalNaive168.mae),
    f(r.skillVsPersistence, 3),
    f(r.skillVsSeasonalNaive24, 3),
    f(r.skillVsSeasonalNaive168, 3),
    f(r.byDayGroup.holiday.mape, 2),
    f(r.byDayGroup.bridge.mape, 2),
    f(r.byDayGroup.ordinary.mape, 2),
    f(r.coverage * 100, 1),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [fmt(header), ...lines.map(fmt)].join('\n');
}

/** Headline figures of a report (what model metadata and docs quote). */
export interface BacktestSummary {
  readonly from: string;
  readonly to: string;
  readonly origins: number;
  readonly h1: HeadlineScore;
  readonly h24: HeadlineScore;
  readonly allHorizons: ErrorSummary;
  /** 10–90 % interval coverage, all horizons pooled. */
  readonly coverage: number;
  /** Per horizon 1…24: model MAPE %, MAE and coverage. */
  readonly perHorizon: {
    readonly h: number;
    readonly mape: number;
    readonly mae: number;
    readonly coverage: number;
  }[];
}

export interface HeadlineScore extends ErrorSummary {
  readonly holidayMape: number;
  readonly bridgeMape: number;
  readonly ordinaryMape: number;
  readonly holidayHours: number;
  readonly coverage: number;
  readonly persistenceMae: number;
  readonly seasonalNaive24Mae: number;
  readonly seasonalNaive168Mae: number;
  /** Persistence MAE / model MAE (≥ 5 wanted at 1 h). */
  readonly maeRatioVsPersistence: number;
}

function headline(s: HorizonScore): HeadlineScore {
  return {
    ...s.model,
    holidayMape: s.byDayGroup.holiday.mape,
    bridgeMape: s.byDayGroup.bridge.mape,
    ordinaryMape: s.byDayGroup.ordinary.mape,
    holidayHours: s.byDayGroup.holiday.n,
    coverage: s.coverage,
    persistenceMae: s.persistence.mae,
    seasonalNaive24Mae: s.seasonalNaive24.mae,
    seasonalNaive168Mae: s.seasonalNaive168.mae,
    maeRatioVsPersistence: s.persistence.mae / s.model.mae,
  };
}

export function summarizeBacktest(report: BacktestReport): BacktestSummary {
  const round = <T>(x: T): T =>
    JSON.parse(
      JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v)),
    ) as T;
  return round({
    from: toIso(report.from),
    to: toIso(report.to),
    origins: report.origins,
    h1: headline(report.horizons[0]!),
    h24: headline(report.horizons[report.horizons.length - 1]!),
    allHorizons: report.overall.model,
    coverage: report.overall.coverage,
    perHorizon: report.horizons.map((h) => ({
      h: h.horizon,
      mape: h.model.mape,
      mae: h.model.mae,
      coverage: h.coverage,
    })),
  });
}

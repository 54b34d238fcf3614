import { seasonalNaive } from './baselines.ts';
import { calendarProblem } from './calendar/validate.ts';
import type { Forecaster, ForecastResult, ForecastWindow } from './forecaster.ts';
import type { FallbackReason, OriginForecast } from './predictions.ts';
import type { SeriesHistory, SeriesInfo } from './series.ts';
import { HOUR_MS } from './time.ts';
import type { WindowWeather } from './weather.ts';
import { checkWindow, DEFAULT_WINDOW_CHECKS, type WindowCheckOptions } from './validation.ts';

/** One forecast to make: from the window of `history` that ends at `origin`, issued at `issuedAt`. */
export interface ForecastOrigin {
  readonly history: SeriesHistory;
  readonly origin: number;
  readonly issuedAt: number;
  /** For weather models: the weather around the origin, or why there is none usable. */
  readonly weather?: WindowWeather | { readonly problem: string };
}

/** Chooses the model of a series (its assigned version, or the default). */
export interface ModelResolver {
  forecasterFor(series: SeriesInfo): Forecaster;
  /** The longest window any of its models needs, so one read serves every series. */
  readonly maxWindowHours: number;
  /**
   * Makes the models these series are assigned ready before forecasting (e.g. a version promoted since
   * the process started is fetched from the model store, once). Never throws: a model that cannot be
   * loaded is served by a labelled stand-in or a flagged baseline.
   */
  prepare?(series: readonly SeriesInfo[]): Promise<void>;
}

/** Hours of history a fallback may look back (two weeks), beyond what the model's window needs. */
export const FALLBACK_HISTORY_HOURS = 336;

export interface ForecastFailure {
  readonly seriesName: string;
  readonly origin: number;
  readonly reason: string;
}

export interface ForecastOutcome {
  /** One per origin given, in no particular order. */
  readonly forecasts: OriginForecast[];
  readonly okOrigins: number;
  readonly fallbackOrigins: number;
  /** Origins for which not even a baseline could be made; stored as 'missed' rows. */
  readonly failures: ForecastFailure[];
  readonly fallbackReasons: Partial<Record<FallbackReason, number>>;
  /** Origins of weather models forecast by their calendar-only model (weather missing or too old). */
  readonly weatherDegraded: number;
}

export interface ForecastOptions {
  readonly checks?: WindowCheckOptions;
  /** Hours ahead to forecast; default: the model's horizons. */
  readonly horizons?: number;
}

/**
 * The forecasting step, free of I/O: check every window, run each model once over all its trusted
 * windows, and replace what cannot be trusted with a flagged baseline forecast.
 */
export async function forecastOrigins(
  origins: readonly ForecastOrigin[],
  resolver: Pick<ModelResolver, 'forecasterFor'>,
  options: ForecastOptions = {},
): Promise<ForecastOutcome> {
  const checks = options.checks ?? DEFAULT_WINDOW_CHECKS;
  const forecasts: OriginForecast[] = [];
  const failures: ForecastFailure[] = [];
  const fallbackReasons: Partial<Record<FallbackReason, number>> = {};
  const batches = new Map<
    Forecaster,
    { origins: ForecastOrigin[]; windows: ForecastWindow[]; owners: Forecaster[]; reasons: (string | null)[] }
  >();
  let weatherDegraded = 0;
  const fallbacks: {
    origin: ForecastOrigin;
    forecaster: Forecaster;
    reason: FallbackReason;
    detail: string;
  }[] = [];

  const calendarProblems = new Map<number, string | null>();
  for (const o of origins) {
    const forecaster = resolver.forecasterFor(o.history.series);
    const series = o.history.series;
    if (!calendarProblems.has(series.id)) calendarProblems.set(series.id, calendarProblem(series));
    const badCalendar = calendarProblems.get(series.id);
    if (badCalendar) {
      // One series' bad zone or country must not reach the batch, where it would fail every series.
      fallbacks.push({ origin: o, forecaster, reason: 'invalid-calendar', detail: badCalendar });
      continue;
    }
    const window = windowEndingAt(o.history, o.origin, forecaster.windowHours);
    if (!window) {
      fallbacks.push({
        origin: o,
        forecaster,
        reason: 'insufficient-history',
        detail: `needs ${forecaster.windowHours} h of history`,
      });
      continue;
    }
    const failure = checkWindow(window, o.history.series, o.origin, o.issuedAt, checks);
    if (failure) {
      fallbacks.push({ origin: o, forecaster, ...failure });
      continue;
    }
    // A weather model without usable weather: its calendar-only model forecasts, labelled with the reason.
    let model = forecaster;
    let reason: string | null = null;
    let weather: WindowWeather | undefined;
    if (forecaster.weather) {
      const w = o.weather ?? { problem: 'weather-missing: no weather was read for this series' };
      if ('problem' in w) {
        const calendarOnly = forecaster.weather.calendarFallback;
        if (!calendarOnly) {
          fallbacks.push({ origin: o, forecaster, reason: 'weather-missing', detail: w.problem });
          continue;
        }
        model = calendarOnly;
        reason = w.problem;
        weatherDegraded++;
      } else weather = w;
    }
    let batch = batches.get(model);
    if (!batch) batches.set(model, (batch = { origins: [], windows: [], owners: [], reasons: [] }));
    batch.origins.push(o);
    batch.owners.push(forecaster);
    batch.reasons.push(reason);
    batch.windows.push({
      seriesId: o.history.series.id,
      calendar: o.history.series,
      origin: o.origin,
      values: window,
      ...(weather ? { weather } : {}),
    });
  }

  let okOrigins = 0;
  let substituted = 0;
  for (const [forecaster, batch] of batches) {
    const results = await forecastIsolated(forecaster, batch.windows);
    const horizons = options.horizons ?? forecaster.horizons;
    batch.origins.forEach((o, i) => {
      const result = results[i]!;
      const owner = batch.owners[i]!;
      if ('error' in result) {
        fallbacks.push({ origin: o, forecaster: owner, reason: 'model-error', detail: result.error });
        return;
      }
      if (!allFinite(result.values, horizons)) {
        fallbacks.push({
          origin: o,
          forecaster: owner,
          reason: 'model-error',
          detail: 'the model returned a non-finite value',
        });
        return;
      }
      const stand = forecaster.substitution;
      const stream = owner.version;
      if (stand) {
        // A model forecast, but not by the assigned model: stored and counted as a fallback.
        substituted++;
        fallbackReasons['model-unavailable'] = (fallbackReasons['model-unavailable'] ?? 0) + 1;
      } else okOrigins++;
      forecasts.push(
        originForecast(o, horizons, {
          modelVersion: stream,
          method: stand ? stand.method : forecaster.version,
          quality: stand ? 'fallback' : 'ok',
          reason: stand ? stand.reason : batch.reasons[i]!,
          values: result.values,
          lower: result.lower,
          upper: result.upper,
        }),
      );
    });
  }

  let fallbackOrigins = substituted;
  for (const { origin: o, forecaster, reason, detail } of fallbacks) {
    const horizons = options.horizons ?? forecaster.horizons;
    const baseline = fallbackForecast(o.history, o.origin, horizons, checks);
    const why = `${reason}: ${detail}`;
    if (!baseline) {
      failures.push({ seriesName: o.history.series.name, origin: o.origin, reason: why });
      forecasts.push(originForecast(o, horizons, { modelVersion: forecaster.version, ...missed(why) }));
      continue;
    }
    fallbackOrigins++;
    fallbackReasons[reason] = (fallbackReasons[reason] ?? 0) + 1;
    forecasts.push(
      originForecast(o, horizons, {
        modelVersion: forecaster.version,
        method: baseline.method,
        quality: 'fallback',
        reason: why,
        values: baseline.values,
      }),
    );
  }
  return { forecasts, okOrigins, fallbackOrigins, failures, fallbackReasons, weatherDegraded };
}

type IsolatedResult = ForecastResult | { error: string };

/**
 * Runs the model on a batch; when the batch throws, halves it until the windows that fail are found, so
 * one series' failure never degrades another's forecast. When the first and the last window each fail
 * alone with the batch's own message, the model itself is broken: every window gets that error without
 * window-by-window retries.
 */
async function forecastIsolated(
  forecaster: Forecaster,
  windows: readonly ForecastWindow[],
): Promise<IsolatedResult[]> {
  try {
    return await forecaster.forecast(windows);
  } catch (error) {
    const message = errorText(error);
    if (windows.length === 1) return [{ error: message }];
    if (windows.length > 2) {
      const fails = async (w: ForecastWindow) =>
        forecaster.forecast([w]).then(
          () => false,
          (e: unknown) => errorText(e) === message,
        );
      if ((await fails(windows[0]!)) && (await fails(windows[windows.length - 1]!)))
        return windows.map(() => ({ error: message }));
    }
    const middle = windows.length >> 1;
    const first = await forecastIsolated(forecaster, windows.slice(0, middle));
    const second = await forecastIsolated(forecaster, windows.slice(middle));
    return [...first, ...second];
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The `hours` values ending at `origin`, as a view (no copy); null when history does not reach back far enough. */
export function windowEndingAt(history: SeriesHistory, origin: number, hours: number): Float64Array | null {
  const end = (origin - history.start) / HOUR_MS + 1;
  const begin = end - hours;
  if (begin < 0 || end > history.values.length) return null;
  return history.values.subarray(begin, end);
}

/**
 * A baseline for a window the model cannot be trusted with, using only plausible values at or before the
 * origin: last week's same hours, else yesterday's, else the newest plausible value. Null when none exists.
 */
export function fallbackForecast(
  history: SeriesHistory,
  origin: number,
  horizons: number,
  checks: WindowCheckOptions = DEFAULT_WINDOW_CHECKS,
): { method: string; values: Float64Array } | null {
  const recent = windowEndingAt(
    history,
    origin,
    Math.min(FALLBACK_HISTORY_HOURS, (origin - history.start) / HOUR_MS + 1),
  );
  if (!recent || recent.length === 0) return null;
  const usable = usableValues(recent, history.series, checks.plausibleFactor);
  for (const season of [168, 24]) {
    if (usable.length < season) continue;
    const values = seasonalNaive(usable, season, horizons);
    if (allFinite(values, horizons)) return { method: `seasonal-naive-${season}h`, values };
  }
  for (let i = usable.length - 1; i >= Math.max(0, usable.length - 24); i--) {
    if (!Number.isNaN(usable[i]!))
      return { method: 'persistence', values: new Float64Array(horizons).fill(usable[i]!) };
  }
  return null;
}

/** A copy of the window where implausible values are NaN, so baselines never repeat a spike. */
function usableValues(values: Float64Array, series: SeriesInfo, factor: number): Float64Array {
  const copy = Float64Array.from(values);
  const finite = copy.filter((v) => !Number.isNaN(v)).sort();
  if (finite.length === 0) return copy;
  const level = finite[finite.length >> 1]!;
  const low = series.minPlausible ?? level / factor;
  const high = series.maxPlausible ?? level * factor;
  for (let i = 0; i < copy.length; i++) if (copy[i]! < low || copy[i]! > high) copy[i] = NaN;
  return copy;
}

function allFinite(values: ArrayLike<number>, n: number): boolean {
  if (values.length < n) return false;
  for (let i = 0; i < n; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/** What a forecast from one origin says: who made it, how, and the values per horizon (null: none made). */
export interface OriginContent extends Pick<
  OriginForecast,
  'modelVersion' | 'method' | 'quality' | 'reason'
> {
  readonly values: ArrayLike<number> | null;
  readonly lower?: ArrayLike<number>;
  readonly upper?: ArrayLike<number>;
}

/** The content of an origin no forecast was made for: stored as 'missed', so the gap shows. */
export function missed(reason: string): Omit<OriginContent, 'modelVersion'> {
  return { method: 'none', quality: 'missed', reason, values: null };
}

/** The first `horizons` values, without copying a typed array (the model's results are views of one buffer). */
function firstHorizons(values: ArrayLike<number>, horizons: number): ArrayLike<number> {
  if (values.length === horizons) return values;
  return values instanceof Float64Array
    ? values.subarray(0, horizons)
    : Array.from({ length: horizons }, (_, i) => values[i]!);
}

/** The forecast made from `o`, horizons 1…`horizons`. */
export function originForecast(o: ForecastOrigin, horizons: number, content: OriginContent): OriginForecast {
  return {
    seriesId: o.history.series.id,
    modelVersion: content.modelVersion,
    lastInputHour: o.origin,
    method: content.method,
    issuedAt: o.issuedAt,
    quality: content.quality,
    reason: content.reason,
    horizons,
    values: content.values ? firstHorizons(content.values, horizons) : null,
    lower: content.lower ? firstHorizons(content.lower, horizons) : null,
    upper: content.upper ? firstHorizons(content.upper, horizons) : null,
  };
}

/** Every series uses the same forecaster (baselines, tests, single-model deployments). */
export function singleForecaster(forecaster: Forecaster): ModelResolver {
  return { forecasterFor: () => forecaster, maxWindowHours: forecaster.windowHours };
}

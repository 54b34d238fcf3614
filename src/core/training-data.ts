import { utcOfLocal } from './calendar/localTime.ts';
import { buildFeatures, HORIZONS } from './features.ts';
import type { ForecastWindow, SeriesCalendar } from './forecaster.ts';
import { completeWindows, hourAt, indexOf, windowValues, type HourlySeries } from './hourly-series.ts';
import { HOUR_MS, toIso, type HourMs } from './time.ts';
import type { WindowWeather } from './weather.ts';

/**
 * What a trainer sees of a series: the tensors of its training and validation windows, built by the
 * core's feature code (the only feature implementation). Pure: no files, no processes.
 */

/** UTC ISO hour starts, both ends inclusive (targets). */
export interface Span {
  readonly from: string;
  readonly to: string;
}

/**
 * Training targets end with the last hour of local day `untilDay`; the validation split is its last
 * `validationDays` local days.
 */
export function trainingBoundaries(
  timezone: string,
  untilDay: number,
  validationDays: number,
): { trainEnd: HourMs; validationStart: HourMs } {
  return {
    trainEnd: utcOfLocal(timezone, untilDay + 1, 0) - HOUR_MS,
    validationStart: utcOfLocal(timezone, untilDay + 1 - validationDays, 0),
  };
}

export interface OriginSplitOptions {
  readonly windowHours: number;
  /** Last target hour training or validation may use (UTC ms, inclusive). */
  readonly trainEnd: HourMs;
  /** First target hour of the validation (early-stopping) split. */
  readonly validationStart: HourMs;
  /** Keep only the newest N training windows; 0 = all. */
  readonly maxTrain?: number;
}

export interface OriginSplit {
  /** Series indexes of the origins (newest hour of each window). */
  readonly train: number[];
  readonly validation: number[];
  readonly trainingSpan: Span;
  readonly validationSpan: Span;
}

/**
 * Origins with a complete window and all HORIZONS targets present. Training targets end before the
 * validation split starts (windows straddling the boundary are dropped); validation targets end at
 * `trainEnd`. Returns null when either split would be empty.
 */
export function splitOrigins(series: HourlySeries, options: OriginSplitOptions): OriginSplit | null {
  const { windowHours } = options;
  const complete = completeWindows(series, windowHours);
  const train: number[] = [];
  const validation: number[] = [];
  const validationStartIndex = indexOf(series, options.validationStart);
  const trainEndIndex = Math.min(indexOf(series, options.trainEnd), series.values.length - 1);
  for (let i = windowHours - 1; i + HORIZONS <= trainEndIndex; i++) {
    if (!complete[i]) continue;
    let ok = true;
    for (let h = 1; h <= HORIZONS && ok; h++) ok = !Number.isNaN(series.values[i + h]!);
    if (!ok) continue;
    if (i + HORIZONS < validationStartIndex) train.push(i);
    else if (i + 1 >= validationStartIndex) validation.push(i);
  }
  const maxTrain = options.maxTrain ?? 0;
  // Keep the most recent windows when subsampling for quick experiments.
  const kept = maxTrain > 0 && train.length > maxTrain ? train.slice(train.length - maxTrain) : train;
  if (kept.length === 0 || validation.length === 0) return null;
  return {
    train: kept,
    validation,
    trainingSpan: targetSpan(series, kept),
    validationSpan: targetSpan(series, validation),
  };
}

function targetSpan(series: HourlySeries, origins: readonly number[]): Span {
  return {
    from: toIso(hourAt(series, origins[0]! + 1)),
    to: toIso(hourAt(series, origins.at(-1)! + HORIZONS)),
  };
}

/** Input tensors of one split, keyed by model input name, plus targets [n, HORIZONS] raw MWh. */
export interface TrainingTensors {
  readonly n: number;
  readonly inputs: Readonly<Record<string, Float32Array>>;
  readonly target: Float32Array;
}

export function buildTrainingTensors(
  series: HourlySeries,
  calendar: SeriesCalendar,
  origins: readonly number[],
  windowHours: number,
  /** Weather models: the weather of the window at series index i (adds the `weather` input). */
  weatherFor?: (i: number) => WindowWeather | undefined,
): TrainingTensors {
  const windows: ForecastWindow[] = origins.map((i) => {
    const weather = weatherFor?.(i);
    return {
      seriesId: 0,
      calendar,
      origin: hourAt(series, i),
      values: windowValues(series, i, windowHours),
      ...(weather ? { weather } : {}),
    };
  });
  const f = buildFeatures(windows, { windowHours, horizons: HORIZONS, weather: weatherFor !== undefined });
  const target = new Float32Array(origins.length * HORIZONS);
  origins.forEach((i, r) => {
    for (let h = 1; h <= HORIZONS; h++) target[r * HORIZONS + h - 1] = series.values[i + h]!;
  });
  const inputs: Record<string, Float32Array> = { history: f.history, calendar: f.calendar };
  if (f.weather) inputs.weather = f.weather;
  return { n: f.n, inputs, target };
}

/** Recency weights 0.5^(age / half-life) of each training origin (load shapes drift). */
export function recencyWeights(
  series: HourlySeries,
  origins: readonly number[],
  trainEnd: HourMs,
  halfLifeYears: number,
): Float32Array {
  const yearMs = 365.25 * 24 * HOUR_MS;
  return Float32Array.from(
    origins,
    (i) => 0.5 ** ((trainEnd - hourAt(series, i)) / (halfLifeYears * yearMs)),
  );
}

/**
 * Deterministic synthetic load windows for parity samples: never real data, which must not be
 * committed next to a model.
 */
export function syntheticParityWindows(
  calendar: SeriesCalendar,
  windowHours: number,
  n: number,
): ForecastWindow[] {
  let state = 12345;
  const rand = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const windows: ForecastWindow[] = [];
  const firstOrigin = Date.UTC(2025, 2, 27, 9);
  for (let w = 0; w < n; w++) {
    const origin = firstOrigin + w * 53 * HOUR_MS * 7; // spread over the year, every hour of day
    const level = 15_000 + rand() * 45_000;
    const values = new Float64Array(windowHours);
    for (let k = 0; k < windowHours; k++) {
      const t = origin - (windowHours - 1 - k) * HOUR_MS;
      const hour = (t / HOUR_MS) % 24;
      const day = Math.floor(t / (24 * HOUR_MS)) % 7;
      values[k] =
        level *
        (1 +
          0.15 * Math.sin((2 * Math.PI * (hour - 8)) / 24) -
          (day >= 5 ? 0.08 : 0) +
          0.02 * (rand() - 0.5));
    }
    windows.push({ seriesId: 0, calendar, origin, values });
  }
  return windows;
}

import type { HourMs } from './time.ts';

/**
 * Weather as a model input. A series names its weather locations with weights (for Türkiye the ten
 * largest cities by population share); the forecaster gets, per window, the hourly temperature of each
 * location from `WEATHER_LAG_HOURS` before the origin to `WEATHER_AHEAD_HOURS` after it. Past hours are
 * observed (or the newest forecast issued for them); hours after the origin are the newest forecast
 * issued at or before the origin (see the weather store's "as of" read).
 */

/** Hours before the origin the features look back at (the seasonal lags the history holds). */
export const WEATHER_LAG_HOURS = 168;
/** Hours after the origin the features need (the horizons). */
export const WEATHER_AHEAD_HOURS = 24;
/** Hours per location in a window's weather: origin − 168 h … origin + 24 h. */
export const WEATHER_SPAN_HOURS = WEATHER_LAG_HOURS + 1 + WEATHER_AHEAD_HOURS;

/**
 * Weather retention keeps what rebuilding any stored forecast needs: the longest horizon a stored forecast
 * may have (predictions.horizon ≤ 168), so origins this far before the oldest kept prediction stay rebuildable.
 */
export const WEATHER_REBUILD_HORIZON_HOURS = 168;

/** Most weather rows one retention call removes per table; a larger backlog drains over the next hours. */
export const WEATHER_RETENTION_MAX_ROWS = 200_000;

/**
 * A series whose newest weather forecast vintage is older than this (hours) is forecast by its
 * calendar-only model: Open-Meteo's runs refresh every 1–6 h, so 12 h means several fetches failed.
 */
export const DEFAULT_WEATHER_MAX_AGE_HOURS = 12;

/** Degree-hour bases (°C): below HEATING_BASE_C load heats, above COOLING_BASE_C it cools. */
export const HEATING_BASE_C = 18;
export const COOLING_BASE_C = 22;

/** The weather variables Pulse stores (Open-Meteo's names). */
export const WEATHER_VARIABLES = ['temperature_2m', 'relative_humidity_2m', 'cloud_cover'] as const;
export type WeatherVariable = (typeof WEATHER_VARIABLES)[number];

export interface WeatherLocation {
  /** Key in the weather store, e.g. 'istanbul'. */
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Share of the series' weather signal, e.g. population share; the weights of a series sum to 1. */
  readonly weight: number;
}

/** One location's temperatures for a window. */
export interface LocationTemperatures {
  readonly weight: number;
  /** Hourly °C; index `originIndex` is the origin hour; NaN where unknown. May be a longer shared array. */
  readonly temperature: Float32Array;
}

/** The weather a window's features read. */
export interface WindowWeather {
  readonly locations: readonly LocationTemperatures[];
  /** Index of the origin hour in every location's `temperature`. */
  readonly originIndex: number;
  /**
   * Optional error added to the forecast hours (origin + 1 … origin + 24), [locations × 24] row-major:
   * the forecast-like perturbation of evaluation and training on observed weather. Absent in service.
   */
  readonly forecastError?: Float32Array;
  /** Back-tests: where the target hours' temperatures came from (see WeatherProvenance). */
  readonly provenance?: WeatherProvenance;
}

/**
 * Where a back-test window's target-hour temperatures came from: 'vintage' every one from a forecast
 * issued at or before the origin, 'observed' none (observed weather stood in: perfect prognosis),
 * 'mixed' some, 'missing' an hour had no value at all (the window's weather is masked).
 */
export type WeatherProvenance = 'vintage' | 'mixed' | 'observed' | 'missing';

/** Stated assumptions of the forecast-like temperature error (docs/model.md gives the sources). */
export interface ForecastErrorModel {
  /** Standard deviation (K) at lead time 0. */
  readonly sigmaAtZero: number;
  /** Growth of the standard deviation per 24 h of lead time (K). */
  readonly sigmaPerDay: number;
  /** Age of the newest weather run at a forecast origin (h): the lead of horizon h is h + this. */
  readonly issueAgeHours: number;
  /** Correlation of consecutive hours' errors within one run (AR(1)). */
  readonly hourlyCorrelation: number;
  /** Correlation between locations' errors (one shared component). */
  readonly locationCorrelation: number;
}

/**
 * Day-ahead 2 m temperature error of a global NWP model at a city: about 1.0 K RMSE at short lead and
 * 1.5–2 K at day 1–2 (docs/model.md, "Weather"). Runs are issued every 6 h and published ~4–6 h later,
 * so the newest run is on average ~6 h old at an origin.
 */
export const DEFAULT_FORECAST_ERROR: ForecastErrorModel = {
  sigmaAtZero: 1.0,
  sigmaPerDay: 0.6,
  issueAgeHours: 6,
  hourlyCorrelation: 0.95,
  locationCorrelation: 0.5,
};

/** Standard deviation of the forecast-like error (K) for horizon h. */
export function forecastErrorSigma(model: ForecastErrorModel, horizon: number): number {
  return model.sigmaAtZero + (model.sigmaPerDay * (horizon + model.issueAgeHours)) / 24;
}

/** A small seeded generator (mulberry32 + Box–Muller), so noisy evaluations are reproducible. */
export function gaussianSource(seed: number): () => number {
  let a = seed >>> 0;
  let spare = NaN;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * One weather run's errors for `locations` locations × `horizons` hours ([locations × horizons]):
 * each location's error is an AR(1) sequence over the horizons (unit variance), sharing a component
 * with the other locations, scaled by the standard deviation of its lead time.
 */
export function forecastLikeErrors(
  locations: number,
  horizons: number,
  model: ForecastErrorModel,
  gauss: () => number,
): Float32Array {
  const out = new Float32Array(locations * horizons);
  const phi = model.hourlyCorrelation;
  const innovation = Math.sqrt(1 - phi * phi);
  const shared = Math.sqrt(model.locationCorrelation);
  const own = Math.sqrt(1 - model.locationCorrelation);
  const common = new Float64Array(horizons);
  let z = gauss();
  for (let h = 0; h < horizons; h++) {
    if (h > 0) z = phi * z + innovation * gauss();
    common[h] = z;
  }
  for (let l = 0; l < locations; l++) {
    let e = gauss();
    for (let h = 0; h < horizons; h++) {
      if (h > 0) e = phi * e + innovation * gauss();
      out[l * horizons + h] = (shared * common[h]! + own * e) * forecastErrorSigma(model, h + 1);
    }
  }
  return out;
}

/** Hourly values of one location on a dense grid starting at `start`; NaN where unknown. */
export interface LocationSeries {
  readonly start: HourMs;
  readonly values: Float32Array;
}

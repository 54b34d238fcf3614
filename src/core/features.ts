import { holidayKindOfLocal, isFastingDayOfLocal, isFeastDayOfLocal } from './calendar/holidays.ts';
import { DAY_MS, offsetMs, weekdayOfDay } from './calendar/localTime.ts';
import type { ForecastWindow, SeriesCalendar } from './forecaster.ts';
import { HOUR_MS, type HourMs } from './time.ts';
import { COOLING_BASE_C, HEATING_BASE_C, WEATHER_AHEAD_HOURS, type WindowWeather } from './weather.ts';

/**
 * The one source of truth for model inputs: the trainer writes these tensors to disk and the ONNX
 * adapter builds the very same ones at inference. Changing anything here changes the model contract,
 * so bump FEATURES_VERSION (the metadata records it and the adapter refuses a mismatch).
 *
 * Input `history` [n, windowHours]: raw MWh, oldest first; the last column is the origin's actual.
 *   The ONNX graph normalises it itself (ratios to the newest value), so serving needs no scaler.
 * Input `calendar` [n, CALENDAR_FEATURES] float 0/1 flags and cycles, in the series' local time:
 *   [0, 24)     local hour of the origin, one-hot (targets are origin + h, so this fixes their hours)
 *   [24, 31)    local weekday of the origin, one-hot, Monday first
 *   [31, 33)    sin, cos of 2π · (local day of year) / 365.25
 *   [33, 153)   per horizon h = 1…24 (5 each): target hour is holiday, half-day, bridge, Saturday, Sunday
 *   [153, 225)  per horizon (3 each): holiday, half-day, bridge of target − 24 h (what seasonal naive sees)
 *   [225, 297)  per horizon (3 each): holiday, half-day, bridge of target − 168 h
 *   [297, 393)  per horizon (4 each): target hour is a feast day, target hour is on the eve of a
 *               holiday, target − 24 h and target − 168 h were feast days (isFeastDayOfLocal: the
 *               Bayrams; load falls far deeper there than on a single national day, which the other
 *               flags cannot tell apart).
 *   [393, 441)  per horizon (2 each): target hour and target − 168 h are in the fasting month of
 *               Ramazan (Türkiye): the daily shape changes for a month that moves 11 days a year.
 */
export const FEATURES_VERSION = 'pulse-features-v3';
export const HORIZONS = 24;
export const CALENDAR_FEATURES = 441;

/**
 * Input `weather` [n, WEATHER_FEATURES] of weather models (the metadata declares it; calendar-only
 * models have no such input). Weighted over the series' locations (weights sum to 1), °C:
 *   [0]         1 when the window has complete weather, else 0 and every other column 0 (masked)
 *   [1, 121)    per horizon h = 1…24 (5 each): temperature of the target hour, heating degrees
 *               Σ w·max(0, HEATING_BASE_C − T), cooling degrees Σ w·max(0, T − COOLING_BASE_C) (per
 *               location, then weighted: degree-hours are not linear in T), temperature of target −
 *               24 h and of target − 168 h (what the seasonal lags in the history were exposed to).
 * Target hours carry the weather forecast (plus `forecastError` when evaluating on observed weather);
 * the lag hours lie at or before the origin. The ONNX graph standardises these columns itself.
 */
export const WEATHER_FEATURES_VERSION = 'pulse-weather-v1';
export const WEATHER_FEATURES = 1 + HORIZONS * 5;

const HOUR_OFFSET = 0;
const WEEKDAY_OFFSET = 24;
const SEASON_OFFSET = 31;
const TARGET_OFFSET = 33;
const LAG24_OFFSET = TARGET_OFFSET + HORIZONS * 5;
const LAG168_OFFSET = LAG24_OFFSET + HORIZONS * 3;
const FEAST_OFFSET = LAG168_OFFSET + HORIZONS * 3;
const FASTING_OFFSET = FEAST_OFFSET + HORIZONS * 4;

export interface FeatureSpec {
  readonly windowHours: number;
  readonly horizons: number;
  /** Build the `weather` input too (models whose metadata declares it). */
  readonly weather?: boolean;
}

export interface FeatureTensors {
  readonly n: number;
  /** [n, windowHours] raw MWh. */
  readonly history: Float32Array;
  /** [n, CALENDAR_FEATURES]. */
  readonly calendar: Float32Array;
  /** [n, WEATHER_FEATURES] when the spec asks for weather. */
  readonly weather?: Float32Array;
}

/** Names of the calendar columns in order, written into the model metadata. */
export function calendarFeatureNames(): string[] {
  const names: string[] = [];
  for (let h = 0; h < 24; h++) names.push(`origin_hour_${h}`);
  for (const d of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) names.push(`origin_weekday_${d}`);
  names.push('day_of_year_sin', 'day_of_year_cos');
  for (let h = 1; h <= HORIZONS; h++) {
    for (const f of ['holiday', 'half_day', 'bridge', 'saturday', 'sunday']) names.push(`t${h}_${f}`);
  }
  for (const lag of [24, 168]) {
    for (let h = 1; h <= HORIZONS; h++) {
      for (const f of ['holiday', 'half_day', 'bridge']) names.push(`t${h}_minus_${lag}h_${f}`);
    }
  }
  for (let h = 1; h <= HORIZONS; h++) {
    names.push(`t${h}_feast`, `t${h}_holiday_eve`, `t${h}_minus_24h_feast`, `t${h}_minus_168h_feast`);
  }
  for (let h = 1; h <= HORIZONS; h++) names.push(`t${h}_fasting`, `t${h}_minus_168h_fasting`);
  return names;
}

/** Names of the weather columns in order, written into the model metadata. */
export function weatherFeatureNames(): string[] {
  const names = ['weather_available'];
  for (let h = 1; h <= HORIZONS; h++) {
    names.push(
      `t${h}_temperature`,
      `t${h}_heating_degrees`,
      `t${h}_cooling_degrees`,
      `t${h}_minus_24h_temperature`,
      `t${h}_minus_168h_temperature`,
    );
  }
  return names;
}

/**
 * Writes one window's weather columns into `out` at `row`; returns false (leaving the row all zero,
 * i.e. masked) when the window has no weather or a needed hour is unknown.
 */
export function writeWeatherFeatures(
  weather: WindowWeather | undefined,
  out: Float32Array,
  row: number,
): boolean {
  if (!weather || weather.locations.length === 0) return false;
  const o = weather.originIndex;
  const err = weather.forecastError;
  if (o < 168) return false;
  const L = weather.locations.length;
  for (let l = 0; l < L; l++) {
    const t = weather.locations[l]!.temperature;
    if (t.length <= o + HORIZONS) return false;
    for (let k = o - 168; k <= o + HORIZONS; k++) if (Number.isNaN(t[k]!)) return false;
  }
  out[row] = 1;
  for (let h = 1; h <= HORIZONS; h++) {
    let temp = 0;
    let heat = 0;
    let cool = 0;
    let lag24 = 0;
    let lag168 = 0;
    for (let l = 0; l < L; l++) {
      const { weight, temperature: t } = weather.locations[l]!;
      const target = t[o + h]! + (err ? err[l * WEATHER_AHEAD_HOURS + h - 1]! : 0);
      temp += weight * target;
      heat += weight * Math.max(0, HEATING_BASE_C - target);
      cool += weight * Math.max(0, target - COOLING_BASE_C);
      lag24 += weight * t[o + h - 24]!;
      lag168 += weight * t[o + h - 168]!;
    }
    const base = row + 1 + (h - 1) * 5;
    out[base] = temp;
    out[base + 1] = heat;
    out[base + 2] = cool;
    out[base + 3] = lag24;
    out[base + 4] = lag168;
  }
  return true;
}

// Per-hour codes over a span, so each window costs array reads rather than time-zone arithmetic.
const KIND_HOLIDAY = 1;
const KIND_HALF = 2;
const KIND_BRIDGE = 3;

interface HourTable {
  readonly start: HourMs;
  readonly kind: Uint8Array;
  readonly hour: Uint8Array;
  /** 0 = Monday … 6 = Sunday. */
  readonly weekday: Uint8Array;
  readonly dayOfYear: Uint16Array;
  /** 1 when the hour's local day is a feast day (isFeastDayOfLocal). */
  readonly feast: Uint8Array;
  /** 1 when the next local day is a holiday. */
  readonly eve: Uint8Array;
  /** 1 in the fasting month of Ramazan (see isFastingDayOfLocal). */
  readonly fasting: Uint8Array;
}

function buildHourTable(calendar: SeriesCalendar, start: HourMs, end: HourMs): HourTable {
  const n = Math.round((end - start) / HOUR_MS) + 1;
  const table: HourTable = {
    start,
    kind: new Uint8Array(n),
    hour: new Uint8Array(n),
    weekday: new Uint8Array(n),
    dayOfYear: new Uint16Array(n),
    feast: new Uint8Array(n),
    eve: new Uint8Array(n),
    fasting: new Uint8Array(n),
  };
  let lastDay = NaN;
  let doy = 0;
  let weekday = 0;
  let feast = 0;
  let eve = 0;
  let fasting = 0;
  for (let i = 0; i < n; i++) {
    const utc = start + i * HOUR_MS;
    const local = utc + offsetMs(calendar.timezone, utc);
    const day = Math.floor(local / DAY_MS);
    const hour = Math.floor((local - day * DAY_MS) / HOUR_MS);
    if (day !== lastDay) {
      // Day-level flags once per local day rather than once per hour.
      const year = new Date(day * DAY_MS).getUTCFullYear();
      doy = day - Math.floor(Date.UTC(year, 0, 1) / DAY_MS);
      weekday = weekdayOfDay(day);
      feast = isFeastDayOfLocal(calendar.country, day) ? 1 : 0;
      eve = holidayKindOfLocal(calendar.country, day + 1, 0) === 'holiday' ? 1 : 0;
      fasting = isFastingDayOfLocal(calendar.country, day) ? 1 : 0;
      lastDay = day;
    }
    const kind = holidayKindOfLocal(calendar.country, day, hour);
    table.kind[i] =
      kind === 'holiday'
        ? KIND_HOLIDAY
        : kind === 'half-day'
          ? KIND_HALF
          : kind === 'bridge'
            ? KIND_BRIDGE
            : 0;
    table.hour[i] = hour;
    table.weekday[i] = weekday;
    table.dayOfYear[i] = doy;
    table.feast[i] = feast;
    table.eve[i] = eve;
    table.fasting[i] = fasting;
  }
  return table;
}

function calendarKey(c: SeriesCalendar): string {
  return `${c.country ?? '-'}|${c.timezone}`;
}

/**
 * Builds the model's input tensors for `windows` (each must hold at least `spec.windowHours` values;
 * the newest `windowHours` are used).
 */
export function buildFeatures(windows: readonly ForecastWindow[], spec: FeatureSpec): FeatureTensors {
  const { windowHours } = spec;
  if (spec.horizons !== HORIZONS)
    throw new RangeError(`features are built for ${HORIZONS} horizons, not ${spec.horizons}`);
  const n = windows.length;
  const history = new Float32Array(n * windowHours);
  const calendar = new Float32Array(n * CALENDAR_FEATURES);
  const weather = spec.weather ? new Float32Array(n * WEATHER_FEATURES) : undefined;

  // One hour table per calendar covering every hour any window looks at.
  const groups = new Map<string, { calendar: SeriesCalendar; min: number; max: number }>();
  for (const w of windows) {
    const key = calendarKey(w.calendar);
    const g = groups.get(key);
    const lo = w.origin - 168 * HOUR_MS;
    const hi = w.origin + HORIZONS * HOUR_MS;
    if (!g) groups.set(key, { calendar: w.calendar, min: lo, max: hi });
    else {
      if (lo < g.min) g.min = lo;
      if (hi > g.max) g.max = hi;
    }
  }
  const tables = new Map<string, HourTable>();
  for (const [key, g] of groups) tables.set(key, buildHourTable(g.calendar, g.min, g.max));

  for (let i = 0; i < n; i++) {
    const w = windows[i]!;
    const values = w.values;
    if (values.length < windowHours) {
      throw new RangeError(
        `window ${i} (origin ${new Date(w.origin).toISOString()}) has ${values.length} values, need ${windowHours}`,
      );
    }
    const from = values.length - windowHours;
    const hRow = i * windowHours;
    for (let k = 0; k < windowHours; k++) history[hRow + k] = values[from + k]!;

    const t = tables.get(calendarKey(w.calendar))!;
    const o = Math.round((w.origin - t.start) / HOUR_MS);
    const row = i * CALENDAR_FEATURES;
    calendar[row + HOUR_OFFSET + t.hour[o]!] = 1;
    calendar[row + WEEKDAY_OFFSET + t.weekday[o]!] = 1;
    const angle = (2 * Math.PI * t.dayOfYear[o]!) / 365.25;
    calendar[row + SEASON_OFFSET] = Math.sin(angle);
    calendar[row + SEASON_OFFSET + 1] = Math.cos(angle);
    for (let h = 1; h <= HORIZONS; h++) {
      const target = o + h;
      const kind = t.kind[target]!;
      const base = row + TARGET_OFFSET + (h - 1) * 5;
      if (kind !== 0) calendar[base + kind - 1] = 1;
      const wd = t.weekday[target]!;
      if (wd === 5) calendar[base + 3] = 1;
      else if (wd === 6) calendar[base + 4] = 1;
      const k24 = t.kind[target - 24]!;
      if (k24 !== 0) calendar[row + LAG24_OFFSET + (h - 1) * 3 + k24 - 1] = 1;
      const k168 = t.kind[target - 168]!;
      if (k168 !== 0) calendar[row + LAG168_OFFSET + (h - 1) * 3 + k168 - 1] = 1;
      const feast = row + FEAST_OFFSET + (h - 1) * 4;
      calendar[feast] = t.feast[target]!;
      calendar[feast + 1] = t.eve[target]!;
      calendar[feast + 2] = t.feast[target - 24]!;
      calendar[feast + 3] = t.feast[target - 168]!;
      calendar[row + FASTING_OFFSET + (h - 1) * 2] = t.fasting[target]!;
      calendar[row + FASTING_OFFSET + (h - 1) * 2 + 1] = t.fasting[target - 168]!;
    }
    if (weather) writeWeatherFeatures(w.weather, weather, i * WEATHER_FEATURES);
  }
  return weather ? { n, history, calendar, weather } : { n, history, calendar };
}

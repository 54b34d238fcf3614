import type { ActualRow } from './csv.ts';
import { HOUR_MS, type HourMs } from './time.ts';

/** Hourly actuals on a dense grid: values[i] is the hour start + i h, NaN where the hour is missing. */
export interface HourlySeries {
  readonly start: HourMs;
  readonly values: Float64Array;
}

export function toHourlySeries(rows: readonly ActualRow[]): HourlySeries {
  if (rows.length === 0) return { start: 0, values: new Float64Array(0) };
  const start = rows[0]!.hour;
  const n = Math.round((rows[rows.length - 1]!.hour - start) / HOUR_MS) + 1;
  const values = new Float64Array(n).fill(NaN);
  for (const r of rows) values[Math.round((r.hour - start) / HOUR_MS)] = r.value;
  return { start, values };
}

export function indexOf(series: HourlySeries, hour: HourMs): number {
  return Math.round((hour - series.start) / HOUR_MS);
}

export function hourAt(series: HourlySeries, index: number): HourMs {
  return series.start + index * HOUR_MS;
}

/**
 * Marks, for every index, whether the `windowHours` values ending there are all present, so callers
 * can pick complete windows in O(1).
 */
export function completeWindows(series: HourlySeries, windowHours: number): Uint8Array {
  const ok = new Uint8Array(series.values.length);
  let run = 0;
  for (let i = 0; i < series.values.length; i++) {
    run = Number.isNaN(series.values[i]!) ? 0 : run + 1;
    ok[i] = run >= windowHours ? 1 : 0;
  }
  return ok;
}

/** The window of `windowHours` values ending at index `end` (a view, no copy). */
export function windowValues(series: HourlySeries, end: number, windowHours: number): Float64Array {
  return series.values.subarray(end - windowHours + 1, end + 1);
}

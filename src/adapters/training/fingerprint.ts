import { createHash } from 'node:crypto';
import { hourAt, indexOf, type HourlySeries } from '../../core/hourly-series.ts';
import type { HourMs } from '../../core/time.ts';

/**
 * sha256 of the actuals a model was trained on: the hours [from, to] and their values (float64, NaN
 * for a missing hour). Two models with the same fingerprint saw the same data; a revised actual changes it.
 */
export function dataFingerprint(series: HourlySeries, from: HourMs, to: HourMs): string {
  const first = Math.max(0, indexOf(series, from));
  const last = Math.min(series.values.length - 1, indexOf(series, to));
  const values = series.values.subarray(first, last + 1);
  return createHash('sha256')
    .update(`${hourAt(series, first)}:`)
    .update(Buffer.from(values.buffer, values.byteOffset, values.byteLength))
    .digest('hex');
}

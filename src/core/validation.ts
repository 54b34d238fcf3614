import type { FallbackReason } from './predictions.ts';
import type { SeriesInfo } from './series.ts';
import { HOUR_MS } from './time.ts';

export interface WindowCheckOptions {
  /** A window whose newest hour ended more than this many hours before "now" is stale. */
  readonly staleAfterHours: number;
  /** This many identical newest values in a row is a flat line (a stuck meter or a filled gap). */
  readonly flatHours: number;
  /** Without a configured band, values beyond level × factor or level ÷ factor are implausible. */
  readonly plausibleFactor: number;
}

export const DEFAULT_WINDOW_CHECKS: WindowCheckOptions = {
  staleAfterHours: 6,
  flatHours: 6,
  plausibleFactor: 3,
};

export interface WindowCheckFailure {
  readonly reason: FallbackReason;
  readonly detail: string;
}

/**
 * Checks a model input window before the model sees it. Returns null when the window can be trusted.
 * `values` is the window, oldest first, NaN marking missing hours; `origin` is the hour of its last value.
 */
export function checkWindow(
  values: Float64Array,
  series: Pick<SeriesInfo, 'minPlausible' | 'maxPlausible'>,
  origin: number,
  now: number,
  options: WindowCheckOptions = DEFAULT_WINDOW_CHECKS,
): WindowCheckFailure | null {
  let missing = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i]!)) missing++;
  if (missing > 0)
    return { reason: 'missing-hours', detail: `${missing} of ${values.length} window hours missing` };

  const ageHours = (now - (origin + HOUR_MS)) / HOUR_MS;
  if (ageHours > options.staleAfterHours) {
    return {
      reason: 'stale',
      detail: `newest actual ended ${ageHours.toFixed(1)} h ago (limit ${options.staleAfterHours} h)`,
    };
  }

  const [low, high] = plausibleBand(values, series, options.plausibleFactor);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < low || v > high) {
      const hoursBack = values.length - 1 - i;
      return {
        reason: 'implausible-value',
        detail: `value ${round(v)} ${hoursBack} h before the origin is outside [${round(low)}, ${round(high)}]`,
      };
    }
  }

  const flat = trailingRun(values);
  if (flat >= options.flatHours) {
    return {
      reason: 'flat-line',
      detail: `the newest ${flat} values are all ${round(values[values.length - 1]!)}`,
    };
  }
  return null;
}

/** The configured band, or one derived from the window's typical level (a median of samples). */
export function plausibleBand(
  values: Float64Array,
  series: Pick<SeriesInfo, 'minPlausible' | 'maxPlausible'>,
  factor: number,
): [number, number] {
  if (series.minPlausible !== null && series.maxPlausible !== null)
    return [series.minPlausible, series.maxPlausible];
  const level = sampledMedian(values);
  return [series.minPlausible ?? level / factor, series.maxPlausible ?? level * factor];
}

/**
 * Median of about 31 evenly spaced values: robust to a few spikes, cheap enough for every backfill window
 * (a typed array sorts numbers natively, several times faster than a comparator over a plain array).
 */
function sampledMedian(values: Float64Array): number {
  const step = Math.max(1, Math.floor(values.length / 31));
  const sample = new Float64Array(Math.ceil(values.length / step));
  let n = 0;
  for (let i = values.length - 1; i >= 0; i -= step) if (!Number.isNaN(values[i]!)) sample[n++] = values[i]!;
  return n ? sample.subarray(0, n).sort()[n >> 1]! : NaN;
}

function trailingRun(values: Float64Array): number {
  const last = values[values.length - 1]!;
  let run = 0;
  for (let i = values.length - 1; i >= 0 && values[i] === last; i--) run++;
  return run;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

import { dayOfIso, utcOfLocal } from '../core/calendar/localTime.ts';
import { InputError } from '../core/errors.ts';
import type { SeriesInfo } from '../core/series.ts';
import { hasValidIsoFields, HOUR_MS } from '../core/time.ts';

/**
 * The one rule for every time flag of the CLI (--at, --from, --to, --since, --until), documented in the
 * README ("Dates and times"):
 * - a date (2025-01-31) is a whole local day of the series: as a start it is the day's first hour, as an
 *   end (--to, --until) its last hour, both in the series' time zone;
 * - an ISO time with Z or an offset (2025-01-31T13:00:00Z) is that instant.
 * A date over series in different time zones is refused (name one series, or give an ISO time).
 */
export interface TimeArg {
  readonly flag: string;
  readonly text: string;
  /** Days since 1970-01-01 of a date; undefined for an instant. */
  readonly day?: number;
  /** Epoch ms of an instant; undefined for a date. */
  readonly instant?: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Parses one time flag; an impossible date (2025-02-30) or a time without offset is refused. */
export function parseTimeArg(flag: string, text: string): TimeArg {
  const date = DATE.exec(text);
  if (date && hasValidIsoFields(`${text}T00:00Z`)) return { flag, text, day: dayOfIso(text) };
  if (!date && INSTANT.test(text) && hasValidIsoFields(text)) {
    const ms = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isFinite(ms)) return { flag, text, instant: ms };
  }
  throw new InputError(
    `--${flag} "${text}" is not a date (2025-01-31: a whole local day of the series) ` +
      `or an ISO time with an offset (2025-01-31T13:00:00Z)`,
  );
}

export const optionalTimeArg = (flag: string, text: string | undefined): TimeArg | undefined =>
  text === undefined ? undefined : parseTimeArg(flag, text);

/** The first hour of a date in `timezone`, or the instant. */
export function startOf(arg: TimeArg, timezone: string): number {
  return arg.day === undefined ? arg.instant! : utcOfLocal(timezone, arg.day, 0);
}

/** The last hour of a date in `timezone` (inclusive), or the instant. */
export function endOf(arg: TimeArg, timezone: string): number {
  return arg.day === undefined ? arg.instant! : utcOfLocal(timezone, arg.day + 1, 0) - HOUR_MS;
}

/**
 * The time zone that resolves the dates among `args` for the series a command covers: theirs when they
 * share one, UTC when there is no series; refused when a date meets several zones.
 */
export function zoneFor(series: readonly SeriesInfo[], args: readonly (TimeArg | undefined)[]): string {
  const zones = [...new Set(series.map((s) => s.timezone))];
  const date = args.find((a) => a?.day !== undefined);
  if (zones.length > 1 && date) {
    throw new InputError(
      `--${date.flag} ${date.text} is a local day, but the series are in different time zones ` +
        `(${zones.join(', ')}): name one series with --series, or give an ISO time such as ${date.text}T00:00:00Z`,
    );
  }
  return zones[0] ?? 'UTC';
}

/** An instant that must be an hour start (backfill bounds). */
export function onTheHour(arg: TimeArg, ms: number): number {
  if (ms % HOUR_MS !== 0)
    throw new InputError(`--${arg.flag} "${arg.text}" must be on the hour (minutes and seconds 0)`);
  return ms;
}

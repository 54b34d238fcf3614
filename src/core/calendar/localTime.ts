import { HOUR_MS } from '../time.ts';

export const DAY_MS = 24 * HOUR_MS;

/** Where a UTC hour falls on the series' wall clock. */
export interface LocalHour {
  /** Days since 1970-01-01 of the local calendar date. */
  readonly day: number;
  /** Local hour of day 0–23. */
  readonly hour: number;
  /** Local weekday, 0 = Monday … 6 = Sunday. */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
// Offsets per time zone per UTC day: Intl is slow (~µs per call) and 8,760 windows × 72 hours must stay cheap.
const dayOffsets = new Map<string, Map<number, number | Int32Array>>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** Offset of local time from UTC in ms at instant `utcMs` (computed with Intl; uncached). */
export function computeOffsetMs(timezone: string, utcMs: number): number {
  const parts = formatter(timezone).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return local - Math.floor(utcMs / 60_000) * 60_000;
}

/** Offset of local time from UTC in ms at the UTC hour `hourMs`, cached per UTC day. */
export function offsetMs(timezone: string, hourMs: number): number {
  let perDay = dayOffsets.get(timezone);
  if (!perDay) {
    perDay = new Map();
    dayOffsets.set(timezone, perDay);
  }
  const utcDay = Math.floor(hourMs / DAY_MS);
  let entry = perDay.get(utcDay);
  if (entry === undefined) {
    const start = utcDay * DAY_MS;
    const first = computeOffsetMs(timezone, start);
    const last = computeOffsetMs(timezone, start + 23 * HOUR_MS);
    if (first === last) {
      entry = first;
    } else {
      // A DST change happens inside this UTC day: keep one offset per hour.
      const hours = new Int32Array(24);
      for (let h = 0; h < 24; h++) hours[h] = computeOffsetMs(timezone, start + h * HOUR_MS);
      entry = hours;
    }
    perDay.set(utcDay, entry);
  }
  return typeof entry === 'number' ? entry : entry[Math.floor((hourMs - utcDay * DAY_MS) / HOUR_MS)]!;
}

export function localHour(timezone: string, hourMs: number): LocalHour {
  const local = hourMs + offsetMs(timezone, hourMs);
  const day = Math.floor(local / DAY_MS);
  return { day, hour: Math.floor((local - day * DAY_MS) / HOUR_MS), weekday: weekdayOfDay(day) };
}

/** 0 = Monday … 6 = Sunday for a day number since 1970-01-01 (a Thursday). */
export function weekdayOfDay(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

export function dayOfIso(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

export function isoOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/**
 * UTC instant of a local wall-clock time `hour`:00 on local `day`. Around DST gaps it picks the
 * offset valid just before the wall-clock time, which is what holiday boundaries need.
 */
export function utcOfLocal(timezone: string, day: number, hour: number): number {
  const wall = day * DAY_MS + hour * HOUR_MS;
  const guess = wall - computeOffsetMs(timezone, wall);
  return wall - computeOffsetMs(timezone, guess);
}

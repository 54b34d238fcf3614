import Holidays from 'date-holidays';
import type { SeriesCalendar } from '../forecaster.ts';
import { HOUR_MS, type HourMs } from '../time.ts';
import { dayOfIso, isoOfDay, localHour, utcOfLocal, weekdayOfDay } from './localTime.ts';
import {
  BAYRAM_FIRST_DAYS,
  HALF_DAY_FROM_HOUR,
  RAMAZAN_FIRST_DAYS,
  TURKEY_FIRST_YEAR,
  TURKEY_LAST_YEAR,
  turkeyHolidayDays,
} from './turkey.ts';

/** What kind of day an hour belongs to, for the load's point of view. */
export type HolidayKind = 'none' | 'holiday' | 'half-day' | 'bridge';

/** A public holiday, half day or bridge day as a UTC interval [startsAt, endsAt). */
export interface HolidayPeriod {
  readonly startsAt: HourMs;
  readonly endsAt: HourMs;
  readonly name: string;
  readonly kind: Exclude<HolidayKind, 'none'>;
}

interface DayEntry {
  readonly kind: Exclude<HolidayKind, 'none'>;
  readonly name: string;
  /** For half days: the local hour from which the afternoon is off. */
  readonly fromHour: number;
}

/** Default wall-clock zone per country, used where only a country is known (dashboards' holiday table). */
export const COUNTRY_TIMEZONES: Readonly<Record<string, string>> = {
  TR: 'Europe/Istanbul',
  US: 'America/New_York',
  ES: 'Europe/Madrid',
};

/** A feast: FEAST_MIN_DAYS or more consecutive holidays (the Bayrams); load falls far deeper than on one. */
export const FEAST_MIN_DAYS = 3;

// Local-day entries per country, filled a year at a time (bridges need the neighbouring years).
const dayTables = new Map<string, Map<number, DayEntry>>();
const filledYears = new Map<string, Set<number>>();
const baseYears = new Map<string, Map<number, Map<number, DayEntry>>>();

function baseDays(country: string, year: number): Map<number, DayEntry> {
  let perYear = baseYears.get(country);
  if (!perYear) {
    perYear = new Map();
    baseYears.set(country, perYear);
  }
  let days = perYear.get(year);
  if (days) return days;
  days = new Map();
  if (country === 'TR') {
    if (year >= TURKEY_FIRST_YEAR && year <= TURKEY_LAST_YEAR) {
      for (const d of turkeyHolidayDays(year)) {
        const fromHour = d.kind === 'half-day' ? HALF_DAY_FROM_HOUR : 0;
        days.set(dayOfIso(d.date), { kind: d.kind, name: d.name, fromHour });
      }
    }
  } else {
    // date-holidays' `date` is the local date ("YYYY-MM-DD hh:mm:ss"); only statutory days off count.
    const hd = new Holidays(country);
    for (const h of hd.getHolidays(year) || []) {
      if (h.type !== 'public') continue;
      const first = dayOfIso(h.date.slice(0, 10));
      const length = Math.max(1, Math.round((h.end.getTime() - h.start.getTime()) / (24 * HOUR_MS)));
      for (let i = 0; i < length; i++) {
        if (!days.has(first + i)) days.set(first + i, { kind: 'holiday', name: h.name, fromHour: 0 });
      }
    }
  }
  perYear.set(year, days);
  return days;
}

/**
 * Marks bridge days: a single working weekday between a day off (weekend, holiday, half day) and a
 * holiday, or up to two such days next to a feast of three or more days (Bayram, where the government
 * usually bridges the gap to the weekend).
 */
function withBridges(country: string, year: number): Map<number, DayEntry> {
  const all = new Map<number, DayEntry>();
  for (const y of [year - 1, year, year + 1]) for (const [d, e] of baseDays(country, y)) all.set(d, e);
  const isWeekend = (d: number): boolean => weekdayOfDay(d) >= 5;
  const isOff = (d: number): boolean => isWeekend(d) || all.has(d);
  const feastLength = (d: number, step: number): number => {
    let n = 0;
    while (all.get(d + n * step)?.kind === 'holiday') n++;
    return n;
  };
  const isFeast = (d: number, step: number): boolean => feastLength(d, step) >= FEAST_MIN_DAYS;
  const out = new Map<number, DayEntry>();
  const first = dayOfIso(`${year}-01-01`);
  const last = dayOfIso(`${year}-12-31`);
  for (let d = first; d <= last; d++) {
    const entry = all.get(d);
    if (entry) {
      out.set(d, entry);
      continue;
    }
    if (isWeekend(d)) continue;
    // Working run [a, b] containing d.
    let a = d;
    while (a - 1 >= d - 2 && !isOff(a - 1)) a--;
    let b = d;
    while (b + 1 <= d + 2 && !isOff(b + 1)) b++;
    const run = b - a + 1;
    if (run > 2 || !isOff(a - 1) || !isOff(b + 1)) continue;
    const before = all.get(a - 1);
    const after = all.get(b + 1);
    if (!before && !after) continue;
    const bigFeast = isFeast(a - 1, -1) || isFeast(b + 1, 1) || isFeast(b + 2, 1);
    if (run === 2 && !bigFeast) continue;
    const name = `bridge day (${(before ?? after)!.name})`;
    out.set(d, { kind: 'bridge', name, fromHour: 0 });
  }
  return out;
}

function dayEntry(country: string, day: number): DayEntry | undefined {
  let table = dayTables.get(country);
  let years = filledYears.get(country);
  if (!table || !years) {
    table = new Map();
    years = new Set();
    dayTables.set(country, table);
    filledYears.set(country, years);
  }
  const year = new Date(day * 24 * HOUR_MS).getUTCFullYear();
  if (!years.has(year)) {
    for (const [d, e] of withBridges(country, year)) table.set(d, e);
    years.add(year);
  }
  return table.get(day);
}

/** Kind of the local day `day` (days since 1970-01-01) at local `hour`, for `country`. */
export function holidayKindOfLocal(country: string | null, day: number, hour: number): HolidayKind {
  if (!country) return 'none';
  const entry = dayEntry(country, day);
  if (!entry) return 'none';
  if (entry.kind === 'half-day' && hour < entry.fromHour) return 'none';
  return entry.kind;
}

/** Whether local day `day` is a holiday inside a feast (see FEAST_MIN_DAYS). */
export function isFeastDayOfLocal(country: string | null, day: number): boolean {
  const isHoliday = (d: number): boolean => holidayKindOfLocal(country, d, 0) === 'holiday';
  if (!isHoliday(day)) return false;
  let first = day;
  while (day - first < FEAST_MIN_DAYS && isHoliday(first - 1)) first--;
  let last = day;
  while (last - first + 1 < FEAST_MIN_DAYS && isHoliday(last + 1)) last++;
  return last - first + 1 >= FEAST_MIN_DAYS;
}

// Local-day spans [first, last] of the fasting month, per country that observes it in its load.
const fastingMonths = new Map<string, ReadonlyArray<readonly [number, number]>>([
  [
    'TR',
    Object.entries(RAMAZAN_FIRST_DAYS).map(([year, first]) => [
      dayOfIso(first),
      dayOfIso(BAYRAM_FIRST_DAYS[Number(year)]!.ramazan) - 1,
    ]),
  ],
]);

/** Whether local day `day` falls in the fasting month of Ramazan, for countries where that is known. */
export function isFastingDayOfLocal(country: string | null, day: number): boolean {
  const spans = country ? fastingMonths.get(country) : undefined;
  return spans?.some(([first, last]) => day >= first && day <= last) ?? false;
}

/** Kind of the UTC hour `hourMs` in the series' local calendar. */
export function holidayKind(hourMs: HourMs, calendar: SeriesCalendar): HolidayKind {
  if (!calendar.country) return 'none';
  const local = localHour(calendar.timezone, hourMs);
  return holidayKindOfLocal(calendar.country, local.day, local.hour);
}

/**
 * Every holiday, half day and bridge day of `country` in [fromYear, toYear] as UTC intervals, in the
 * country's main time zone unless `timezone` is given. Adjacent days stay separate periods, so a
 * dashboard can name each day.
 */
export function holidayPeriods(
  country: string,
  fromYear: number,
  toYear: number,
  timezone: string | undefined = COUNTRY_TIMEZONES[country],
): HolidayPeriod[] {
  if (!timezone) throw new RangeError(`no default time zone for country ${country}; pass one`);
  const periods: HolidayPeriod[] = [];
  for (let day = dayOfIso(`${fromYear}-01-01`); day <= dayOfIso(`${toYear}-12-31`); day++) {
    const entry = dayEntry(country, day);
    if (!entry) continue;
    periods.push({
      startsAt: utcOfLocal(timezone, day, entry.fromHour),
      endsAt: utcOfLocal(timezone, day + 1, 0),
      name: entry.name,
      kind: entry.kind,
    });
  }
  return periods;
}

/** Local dates (YYYY-MM-DD) of one kind in a year; handy for tests and reports. */
export function holidayDates(country: string, year: number, kind: Exclude<HolidayKind, 'none'>): string[] {
  const out: string[] = [];
  for (let day = dayOfIso(`${year}-01-01`); day <= dayOfIso(`${year}-12-31`); day++) {
    if (dayEntry(country, day)?.kind === kind) out.push(isoOfDay(day));
  }
  return out;
}

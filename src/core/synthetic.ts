import { holidayKind, localHour } from './calendar/index.ts';
import type { ActualRow } from './csv.ts';
import type { SeriesCalendar } from './forecaster.ts';
import { HOUR_MS } from './time.ts';

export interface SyntheticSeriesOptions {
  /** First and last hour (UTC ms, inclusive). */
  readonly from: number;
  readonly to: number;
  /** Mean level in MWh; default 40,000 like Türkiye's national load. */
  readonly level?: number;
  readonly calendar?: SeriesCalendar;
  /** Relative noise (standard deviation of the AR(1) noise); default 1 %. */
  readonly noise?: number;
  readonly seed?: number;
  /** Growth per year; default 3 %. */
  readonly growthPerYear?: number;
}

export const SYNTHETIC_CALENDAR: SeriesCalendar = { country: 'TR', timezone: 'Europe/Istanbul' };

// Weekday load by local hour (share of the daily mean): night trough, midday plateau, evening peak.
const WEEKDAY_PROFILE = [
  0.8, 0.76, 0.74, 0.73, 0.73, 0.75, 0.8, 0.88, 0.98, 1.05, 1.08, 1.09, 1.06, 1.07, 1.08, 1.07, 1.06, 1.07,
  1.11, 1.13, 1.11, 1.06, 0.98, 0.89,
];
// Holidays have a late, flat morning and a lower peak.
const HOLIDAY_PROFILE = [
  0.86, 0.82, 0.8, 0.78, 0.77, 0.77, 0.78, 0.8, 0.85, 0.93, 1.0, 1.04, 1.05, 1.05, 1.05, 1.04, 1.05, 1.08,
  1.12, 1.15, 1.14, 1.1, 1.03, 0.94,
];
// Monday … Sunday.
const WEEKDAY_LEVEL = [1.0, 1.02, 1.02, 1.02, 1.01, 0.94, 0.82];
const HOLIDAY_LEVEL = { none: 1, holiday: 0.74, 'half-day': 0.88, bridge: 0.9 } as const;

/**
 * An hourly load curve that looks like a national one: daily, weekly and yearly shape (summer cooling
 * peak, smaller winter peak), public holidays, slow growth and autocorrelated noise. Deterministic per seed,
 * so demos and tests can rely on it without any outside data.
 */
export function generateSyntheticSeries(options: SyntheticSeriesOptions): ActualRow[] {
  const level = options.level ?? 40_000;
  const calendar = options.calendar ?? SYNTHETIC_CALENDAR;
  const noise = options.noise ?? 0.01;
  const growth = options.growthPerYear ?? 0.03;
  const random = mulberry32(options.seed ?? 1);
  const rows: ActualRow[] = [];
  let ar = 0;
  for (let hour = options.from; hour <= options.to; hour += HOUR_MS) {
    const local = localHour(calendar.timezone, hour);
    const kind = holidayKind(hour, calendar);
    const dayOfYear = (((hour / HOUR_MS / 24) % 365.2425) + 365.2425) % 365.2425;
    // Peaks around 1 August (cooling) and 15 January (heating), troughs in spring and autumn.
    const yearly =
      1 +
      0.09 * Math.exp(-(((dayOfYear - 212) / 38) ** 2)) +
      0.05 * Math.exp(-(((dayOfYear - 15) / 35) ** 2));
    const years = (hour - Date.UTC(2020, 0, 1)) / (365.2425 * 24 * HOUR_MS);
    const trend = Math.pow(1 + growth, years);
    const profile = kind === 'holiday' ? HOLIDAY_PROFILE : WEEKDAY_PROFILE;
    ar = 0.9 * ar + Math.sqrt(1 - 0.81) * gaussian(random) * noise;
    const value =
      level *
      0.93 *
      trend *
      yearly *
      WEEKDAY_LEVEL[local.weekday]! *
      HOLIDAY_LEVEL[kind] *
      profile[local.hour]! *
      (1 + ar);
    rows.push({ hour, value: Math.round(value * 100) / 100 });
  }
  return rows;
}

/** Small, fast, seedable PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

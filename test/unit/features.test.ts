import { describe, expect, it } from 'vitest';
import { buildFeatures, CALENDAR_FEATURES, calendarFeatureNames } from '../../src/core/features.ts';
import type { ForecastWindow, SeriesCalendar } from '../../src/core/forecaster.ts';

const TR: SeriesCalendar = { country: 'TR', timezone: 'Europe/Istanbul' };
const names = calendarFeatureNames();
const col = (name: string): number => {
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`no feature ${name}`);
  return i;
};

function window(originIso: string, values: number[], calendar = TR): ForecastWindow {
  return { seriesId: 1, calendar, origin: Date.parse(originIso), values: Float64Array.from(values) };
}

const ramp = (n: number): number[] => Array.from({ length: n }, (_, i) => 30_000 + i);

describe('buildFeatures', () => {
  it('documents one name per calendar column', () => {
    expect(names).toHaveLength(CALENDAR_FEATURES);
    expect(new Set(names).size).toBe(CALENDAR_FEATURES);
    expect(names.slice(31, 35)).toEqual(['day_of_year_sin', 'day_of_year_cos', 't1_holiday', 't1_half_day']);
  });

  it('copies the newest windowHours values, oldest first', () => {
    const f = buildFeatures([window('2025-06-02T09:00:00Z', ramp(200))], { windowHours: 168, horizons: 24 });
    expect(f.history).toHaveLength(168);
    expect(f.history[0]).toBe(30_032);
    expect(f.history[167]).toBe(30_199);
  });

  it('flags 30 August as holiday for the targets of a Friday 23:00 origin', () => {
    // 2025-08-29T20:00Z = Friday 23:00 in Istanbul; targets h = 1…24 are Saturday 30 August.
    const f = buildFeatures([window('2025-08-29T20:00:00Z', ramp(168))], { windowHours: 168, horizons: 24 });
    const c = f.calendar;
    expect(c[col('origin_hour_23')]).toBe(1);
    expect(c[col('origin_hour_22')]).toBe(0);
    expect(c[col('origin_weekday_fri')]).toBe(1);
    for (const h of [1, 12, 24]) {
      expect(c[col(`t${h}_holiday`)]).toBe(1);
      expect(c[col(`t${h}_saturday`)]).toBe(1);
      expect(c[col(`t${h}_sunday`)]).toBe(0);
      expect(c[col(`t${h}_minus_24h_holiday`)]).toBe(0);
      expect(c[col(`t${h}_minus_168h_holiday`)]).toBe(0);
    }
    // Day 241 of 2025 (0-based, 29 August).
    expect(c[col('day_of_year_sin')]).toBeCloseTo(Math.sin((2 * Math.PI * 240) / 365.25), 6);
    expect(c[col('day_of_year_cos')]).toBeCloseTo(Math.cos((2 * Math.PI * 240) / 365.25), 6);
    // Exactly the expected number of ones: hour, weekday, 24 holiday + 24 Saturday target flags.
    let ones = 0;
    for (let k = 0; k < CALENDAR_FEATURES; k++) if (c[k] === 1) ones++;
    expect(ones).toBe(2 + 48);
  });

  it('marks the arife half day from 13:00 and the lags one day and one week later', () => {
    // Origin 2025-03-29T09:00Z = Saturday 12:00 local, the Ramazan arife.
    const f = buildFeatures([window('2025-03-29T09:00:00Z', ramp(168))], { windowHours: 168, horizons: 24 });
    const c = f.calendar;
    expect(c[col('t1_half_day')]).toBe(1); // 13:00
    expect(c[col('t11_half_day')]).toBe(1); // 23:00
    expect(c[col('t12_holiday')]).toBe(1); // Sunday 00:00, Bayram day 1
    expect(c[col('t12_sunday')]).toBe(1);
    expect(c[col('t12_half_day')]).toBe(0);
    // Eight days later the lags see it: origin Sunday 6 April 12:00, target − 168 h is the arife afternoon.
    const later = buildFeatures([window('2025-04-05T09:00:00Z', ramp(168))], {
      windowHours: 168,
      horizons: 24,
    });
    expect(later.calendar[col('t1_minus_168h_half_day')]).toBe(1);
    expect(later.calendar[col('t12_minus_168h_holiday')]).toBe(1);
    expect(later.calendar[col('t1_minus_24h_half_day')]).toBe(0);
  });

  it('tells a Bayram from a single national day, and marks holiday eves and the days after a feast', () => {
    const at = (iso: string): Float32Array =>
      buildFeatures([window(iso, ramp(168))], { windowHours: 168, horizons: 24 }).calendar;
    // Origin Thursday 5 June 2025 23:00 local (arife); targets are Kurban Bayramı day 1 (6 June).
    const bayram = at('2025-06-05T20:00:00Z');
    for (const h of [1, 24]) {
      expect(bayram[col(`t${h}_holiday`)]).toBe(1);
      expect(bayram[col(`t${h}_feast`)]).toBe(1);
      expect(bayram[col(`t${h}_holiday_eve`)]).toBe(1); // 7 June is a holiday too
      expect(bayram[col(`t${h}_minus_24h_feast`)]).toBe(0); // the arife is a half day, not a feast
    }
    // Origin Monday 9 June 23:00 (the feast's last day); targets are the first working day after it.
    const after = at('2025-06-09T20:00:00Z');
    expect(after[col('t1_holiday')]).toBe(0);
    expect(after[col('t1_feast')]).toBe(0);
    expect(after[col('t1_holiday_eve')]).toBe(0);
    expect(after[col('t1_minus_24h_feast')]).toBe(1);
    expect(after[col('t1_minus_168h_feast')]).toBe(0);
    // One week after the feast's first day the weekly lag sees it.
    expect(at('2025-06-12T20:00:00Z')[col('t1_minus_168h_feast')]).toBe(1);
    // 30 August 2025 is a single holiday: a holiday, never a feast. Origin Friday 29 August 00:00
    // local: targets up to 23:00 are its eve, the 24th is the holiday itself.
    const national = at('2025-08-28T21:00:00Z');
    expect(national[col('t1_holiday_eve')]).toBe(1);
    expect(national[col('t23_holiday_eve')]).toBe(1);
    expect(national[col('t24_holiday_eve')]).toBe(0);
    expect(national[col('t24_holiday')]).toBe(1);
    expect(national[col('t24_feast')]).toBe(0);
  });

  it('marks the fasting month of Ramazan for the targets and their weekly lags', () => {
    // Origin Friday 28 February 2025 23:00 local: every target is 1 March, the first fasting day.
    const first = buildFeatures([window('2025-02-28T20:00:00Z', ramp(168))], {
      windowHours: 168,
      horizons: 24,
    });
    expect(first.calendar[col('t1_fasting')]).toBe(1);
    expect(first.calendar[col('t24_fasting')]).toBe(1);
    expect(first.calendar[col('t1_minus_168h_fasting')]).toBe(0);
    // One week later the lag is inside the month too.
    const week = buildFeatures([window('2025-03-07T20:00:00Z', ramp(168))], {
      windowHours: 168,
      horizons: 24,
    });
    expect(week.calendar[col('t1_minus_168h_fasting')]).toBe(1);
    // New York has no fasting-month flags.
    const us = buildFeatures(
      [window('2025-03-07T20:00:00Z', ramp(168), { country: 'US', timezone: 'America/New_York' })],
      { windowHours: 168, horizons: 24 },
    );
    expect(us.calendar[col('t1_fasting')]).toBe(0);
  });

  it('gives identical rows for identical windows in one batch and across calls', () => {
    const w = window('2025-06-05T08:00:00Z', ramp(336));
    const other = window('2024-01-01T00:00:00Z', ramp(336), { country: 'US', timezone: 'America/New_York' });
    const a = buildFeatures([w, other, w], { windowHours: 336, horizons: 24 });
    const b = buildFeatures([w], { windowHours: 336, horizons: 24 });
    expect(a.calendar.slice(0, CALENDAR_FEATURES)).toEqual(b.calendar);
    expect(a.calendar.slice(2 * CALENDAR_FEATURES)).toEqual(b.calendar);
    // New Year's Day in New York: origin 2024-01-01T00:00Z is 19:00 local on 31 December.
    const us = a.calendar.slice(CALENDAR_FEATURES, 2 * CALENDAR_FEATURES);
    expect(us[col('origin_hour_19')]).toBe(1);
    expect(us[col('t5_holiday')]).toBe(1); // 00:00 local on 1 January
    expect(us[col('t4_holiday')]).toBe(0);
  });

  it('refuses a window that is too short', () => {
    expect(() =>
      buildFeatures([window('2025-06-05T08:00:00Z', ramp(100))], { windowHours: 168, horizons: 24 }),
    ).toThrow(/has 100 values, need 168/);
  });
});

import Holidays from 'date-holidays';
import { describe, expect, it } from 'vitest';
import {
  BAYRAM_FIRST_DAYS,
  holidayDates,
  holidayKind,
  holidayPeriods,
  isFastingDayOfLocal,
  localHour,
  RAMAZAN_FIRST_DAYS,
  turkeyHolidayDays,
} from '../../src/core/calendar/index.ts';
import { dayOfIso } from '../../src/core/calendar/localTime.ts';
import type { SeriesCalendar } from '../../src/core/forecaster.ts';

const TR: SeriesCalendar = { country: 'TR', timezone: 'Europe/Istanbul' };
const US: SeriesCalendar = { country: 'US', timezone: 'America/New_York' };
const ES: SeriesCalendar = { country: 'ES', timezone: 'Europe/Madrid' };
const utc = (iso: string): number => Date.parse(iso);
const shift = (date: string, days: number): string =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe('Türkiye holiday table', () => {
  // date-holidays 3.37.0 is right for 2017–2027 (issue 9's checked facts): same full days off.
  it.each(Array.from({ length: 11 }, (_, i) => 2017 + i))('matches date-holidays in %i', (year) => {
    const expected = new Set<string>();
    for (const h of new Holidays('TR').getHolidays(year)) {
      if (h.type !== 'public') continue;
      const first = h.date.slice(0, 10);
      if (/Bayramı$/.test(h.name) && /^(Ramazan|Kurban)/.test(h.name)) {
        // Spans 18:00 on the eve … 12:00 after the last day: the whole local days in between.
        const lastFullDay = shift(new Date(h.end.getTime() + 3 * 3_600_000).toISOString().slice(0, 10), -1);
        for (let d = first; d <= lastFullDay; d = shift(d, 1)) expected.add(d);
      } else expected.add(first);
    }
    const ours = turkeyHolidayDays(year)
      .filter((d) => d.kind === 'holiday')
      .map((d) => d.date);
    expect(new Set(ours)).toEqual(expected);
  });

  it('starts Ramazan where date-holidays computes "1 Ramadan" (UAE rules), Diyanet a day later in 2026', () => {
    // date-holidays has no Ramazan start for TR; the UAE's "first day of Ramadan" is the same month.
    const uae = new Holidays('AE');
    for (let year = 2016; year <= 2030; year++) {
      const first = uae
        .getHolidays(year)
        .find((h) => h.name === 'اليوم الأول من رمضان')
        ?.date.slice(0, 10);
      expect(RAMAZAN_FIRST_DAYS[year], `Ramazan ${year}`).toBe(year === 2026 ? shift(first!, 1) : first);
      // The fasting month is 29 or 30 days and ends the day before Ramazan Bayramı.
      const days = dayOfIso(BAYRAM_FIRST_DAYS[year]!.ramazan) - dayOfIso(RAMAZAN_FIRST_DAYS[year]!);
      expect([29, 30]).toContain(days);
    }
  });

  it('knows the fasting month only for Türkiye, from its first day to the arife', () => {
    expect(isFastingDayOfLocal('TR', dayOfIso('2025-02-28'))).toBe(false);
    expect(isFastingDayOfLocal('TR', dayOfIso('2025-03-01'))).toBe(true);
    expect(isFastingDayOfLocal('TR', dayOfIso('2025-03-29'))).toBe(true); // arife
    expect(isFastingDayOfLocal('TR', dayOfIso('2025-03-30'))).toBe(false); // Bayram
    expect(isFastingDayOfLocal('US', dayOfIso('2025-03-10'))).toBe(false);
    expect(isFastingDayOfLocal(null, dayOfIso('2025-03-10'))).toBe(false);
  });

  it('keeps the 2016 Bayram dates that date-holidays has one day off, and no 15 July before 2017', () => {
    expect(BAYRAM_FIRST_DAYS[2016]).toEqual({ ramazan: '2016-07-05', kurban: '2016-09-12' });
    const dates2016 = holidayDates('TR', 2016, 'holiday');
    expect(dates2016).toContain('2016-07-07');
    expect(dates2016).not.toContain('2016-07-08');
    expect(dates2016).toContain('2016-09-15');
    expect(dates2016).not.toContain('2016-07-15');
    expect(holidayDates('TR', 2017, 'holiday')).toContain('2017-07-15');
  });

  it('has 14 full holiday days and 3 half days in 2025', () => {
    expect(holidayDates('TR', 2025, 'holiday')).toEqual([
      '2025-01-01',
      '2025-03-30',
      '2025-03-31',
      '2025-04-01',
      '2025-04-23',
      '2025-05-01',
      '2025-05-19',
      '2025-06-06',
      '2025-06-07',
      '2025-06-08',
      '2025-06-09',
      '2025-07-15',
      '2025-08-30',
      '2025-10-29',
    ]);
    expect(holidayDates('TR', 2025, 'half-day')).toEqual(['2025-03-29', '2025-06-05', '2025-10-28']);
  });

  it('lets a full holiday win over an arife on the same date (23 April 2029 is Kurban arife)', () => {
    const day = turkeyHolidayDays(2029).find((d) => d.date === '2029-04-23');
    expect(day).toMatchObject({ kind: 'holiday', name: 'Ulusal Egemenlik ve Çocuk Bayramı' });
  });

  it('refuses years outside 2016–2030', () => {
    expect(() => turkeyHolidayDays(2031)).toThrow(/2016–2030/);
  });
});

describe('holidayKind (hour resolution, local time)', () => {
  it('marks 30 August as a holiday from local midnight (21:00 UTC the day before)', () => {
    expect(holidayKind(utc('2025-08-29T20:00:00Z'), TR)).toBe('none');
    expect(holidayKind(utc('2025-08-29T21:00:00Z'), TR)).toBe('holiday');
    expect(holidayKind(utc('2025-08-30T20:00:00Z'), TR)).toBe('holiday');
    expect(holidayKind(utc('2025-08-30T21:00:00Z'), TR)).toBe('none');
  });

  it('makes the arife afternoon a half day from 13:00 local', () => {
    expect(holidayKind(utc('2025-03-29T09:00:00Z'), TR)).toBe('none'); // 12:00 local
    expect(holidayKind(utc('2025-03-29T10:00:00Z'), TR)).toBe('half-day'); // 13:00 local
    expect(holidayKind(utc('2025-10-28T10:00:00Z'), TR)).toBe('half-day');
    expect(holidayKind(utc('2025-03-29T21:00:00Z'), TR)).toBe('holiday'); // Bayram day 1, 00:00
  });

  it('marks bridge days next to holidays, two days only next to a Bayram', () => {
    expect(holidayDates('TR', 2025, 'bridge')).toEqual(['2025-05-02', '2025-07-14', '2025-10-27']);
    // Kurban 2024 was Sun–Wed: Thursday and Friday bridge to the weekend; Monday 8 April before the Ramazan arife.
    expect(holidayDates('TR', 2024, 'bridge')).toEqual([
      '2024-04-08',
      '2024-04-22',
      '2024-06-20',
      '2024-06-21',
    ]);
    expect(holidayKind(utc('2025-05-02T09:00:00Z'), TR)).toBe('bridge');
  });

  it('uses date-holidays for the US and Spain', () => {
    expect(holidayKind(utc('2017-07-04T16:00:00Z'), US)).toBe('holiday');
    expect(holidayKind(utc('2017-07-03T16:00:00Z'), US)).toBe('bridge');
    expect(holidayKind(utc('2017-11-24T16:00:00Z'), US)).toBe('bridge'); // day after Thanksgiving
    expect(holidayKind(utc('2017-02-14T16:00:00Z'), US)).toBe('none'); // an observance, not a day off
    expect(holidayKind(utc('2017-12-08T11:00:00Z'), ES)).toBe('holiday');
    expect(holidayKind(utc('2017-12-08T11:00:00Z'), { country: null, timezone: 'UTC' })).toBe('none');
  });

  it('follows DST: 2017-03-12 02:00 does not exist in New York', () => {
    expect(localHour('America/New_York', utc('2017-03-12T06:00:00Z'))).toMatchObject({ hour: 1, weekday: 6 });
    expect(localHour('America/New_York', utc('2017-03-12T07:00:00Z'))).toMatchObject({ hour: 3, weekday: 6 });
    expect(localHour('Europe/Istanbul', utc('2025-01-01T00:00:00Z'))).toMatchObject({ hour: 3, weekday: 2 });
  });
});

describe('holidayPeriods', () => {
  it('lists Türkiye 2025 as UTC intervals, half days from 13:00 local', () => {
    const periods = holidayPeriods('TR', 2025, 2025);
    expect(periods).toHaveLength(14 + 3 + 3);
    const arife = periods.find((p) => p.name === 'Ramazan Bayramı arifesi')!;
    expect(arife).toEqual({
      startsAt: utc('2025-03-29T10:00:00Z'),
      endsAt: utc('2025-03-29T21:00:00Z'),
      name: 'Ramazan Bayramı arifesi',
      kind: 'half-day',
    });
    expect(periods[0]).toMatchObject({
      startsAt: utc('2024-12-31T21:00:00Z'),
      endsAt: utc('2025-01-01T21:00:00Z'),
      kind: 'holiday',
    });
  });

  it('uses local midnight in summer and winter for the US', () => {
    const periods = holidayPeriods('US', 2017, 2017);
    const july4 = periods.find((p) => p.name === 'Independence Day')!;
    expect(july4.startsAt).toBe(utc('2017-07-04T04:00:00Z'));
    const xmas = periods.find((p) => p.name === 'Christmas Day')!;
    expect(xmas.startsAt).toBe(utc('2017-12-25T05:00:00Z'));
    expect(xmas.endsAt - xmas.startsAt).toBe(24 * 3_600_000);
  });
});

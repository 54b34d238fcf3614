/**
 * Türkiye's public holidays, kept by hand because `date-holidays` lacks the arife and 28 October
 * half days, lists 15 July in 2016 and is one day off for the 2016 Bayrams (see issue 9).
 * Bayram first days follow Diyanet's calendar; for 2017–2027 a unit test checks them against
 * `date-holidays`, 2016 and 2028–2030 were checked by hand against Diyanet's published dates.
 */

/** First day (local date) of Ramazan Bayramı (3 days) and Kurban Bayramı (4 days) per year. */
export const BAYRAM_FIRST_DAYS: Readonly<
  Record<number, { readonly ramazan: string; readonly kurban: string }>
> = {
  2016: { ramazan: '2016-07-05', kurban: '2016-09-12' },
  2017: { ramazan: '2017-06-25', kurban: '2017-09-01' },
  2018: { ramazan: '2018-06-15', kurban: '2018-08-21' },
  2019: { ramazan: '2019-06-04', kurban: '2019-08-11' },
  2020: { ramazan: '2020-05-24', kurban: '2020-07-31' },
  2021: { ramazan: '2021-05-13', kurban: '2021-07-20' },
  2022: { ramazan: '2022-05-02', kurban: '2022-07-09' },
  2023: { ramazan: '2023-04-21', kurban: '2023-06-28' },
  2024: { ramazan: '2024-04-10', kurban: '2024-06-16' },
  2025: { ramazan: '2025-03-30', kurban: '2025-06-06' },
  2026: { ramazan: '2026-03-20', kurban: '2026-05-27' },
  2027: { ramazan: '2027-03-09', kurban: '2027-05-16' },
  2028: { ramazan: '2028-02-26', kurban: '2028-05-05' },
  2029: { ramazan: '2029-02-14', kurban: '2029-04-24' },
  2030: { ramazan: '2030-02-04', kurban: '2030-04-13' },
};

/**
 * First fasting day of Ramazan (local date) per year; the month runs to the day before Ramazan
 * Bayramı. Not a holiday, but the load's daily shape changes for the whole month (sahur before dawn,
 * a dip at iftar), and the month moves 10–11 days a year, so no day-of-year feature can learn it.
 * Diyanet's dates; a unit test checks them against date-holidays' "1 Ramadan" (which is a day earlier
 * in 2026 only).
 */
export const RAMAZAN_FIRST_DAYS: Readonly<Record<number, string>> = {
  2016: '2016-06-06',
  2017: '2017-05-27',
  2018: '2018-05-16',
  2019: '2019-05-06',
  2020: '2020-04-24',
  2021: '2021-04-13',
  2022: '2022-04-02',
  2023: '2023-03-23',
  2024: '2024-03-11',
  2025: '2025-03-01',
  2026: '2026-02-19',
  2027: '2027-02-08',
  2028: '2028-01-28',
  2029: '2029-01-16',
  2030: '2030-01-05',
};

export const TURKEY_FIRST_YEAR = 2016;
export const TURKEY_LAST_YEAR = 2030;

/** Half days (arife, 28 October) start at 13:00 local time. */
export const HALF_DAY_FROM_HOUR = 13;

export interface TurkeyHolidayDay {
  /** Local date, YYYY-MM-DD. */
  readonly date: string;
  readonly name: string;
  /** Full day off, or an afternoon off from `HALF_DAY_FROM_HOUR`. */
  readonly kind: 'holiday' | 'half-day';
}

function shiftIso(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Every holiday day of Türkiye in `year`, one entry per local date (full days win over half days). */
export function turkeyHolidayDays(year: number): TurkeyHolidayDay[] {
  const bayram = BAYRAM_FIRST_DAYS[year];
  if (!bayram)
    throw new RangeError(
      `Türkiye holiday table covers ${TURKEY_FIRST_YEAR}–${TURKEY_LAST_YEAR}, not ${year}`,
    );
  const days: TurkeyHolidayDay[] = [
    { date: `${year}-01-01`, name: 'Yılbaşı', kind: 'holiday' },
    { date: `${year}-04-23`, name: 'Ulusal Egemenlik ve Çocuk Bayramı', kind: 'holiday' },
    { date: `${year}-05-01`, name: 'Emek ve Dayanışma Günü', kind: 'holiday' },
    { date: `${year}-05-19`, name: "Atatürk'ü Anma, Gençlik ve Spor Bayramı", kind: 'holiday' },
    { date: `${year}-08-30`, name: 'Zafer Bayramı', kind: 'holiday' },
    { date: `${year}-10-28`, name: 'Cumhuriyet Bayramı arifesi', kind: 'half-day' },
    { date: `${year}-10-29`, name: 'Cumhuriyet Bayramı', kind: 'holiday' },
  ];
  // Demokrasi ve Millî Birlik Günü became a public holiday by law 7068 of 2017.
  if (year >= 2017)
    days.push({ date: `${year}-07-15`, name: 'Demokrasi ve Millî Birlik Günü', kind: 'holiday' });
  const feast = (first: string, length: number, name: string): void => {
    days.push({ date: shiftIso(first, -1), name: `${name} arifesi`, kind: 'half-day' });
    for (let i = 0; i < length; i++)
      days.push({ date: shiftIso(first, i), name: `${name} ${i + 1}. gün`, kind: 'holiday' });
  };
  feast(bayram.ramazan, 3, 'Ramazan Bayramı');
  feast(bayram.kurban, 4, 'Kurban Bayramı');
  const byDate = new Map<string, TurkeyHolidayDay>();
  for (const d of days) {
    const seen = byDate.get(d.date);
    if (!seen || (seen.kind === 'half-day' && d.kind === 'holiday')) byDate.set(d.date, d);
  }
  return [...byDate.values()].sort((a, b) => a.date.localeCompare(b.date));
}

import { basename } from 'node:path';

export interface SeriesDefaults {
  readonly name: string;
  readonly country: string | null;
  readonly timezone: string;
}

// Calendars of the data sets Pulse is benchmarked on; anything else needs --country/--timezone.
const KNOWN: Record<string, { country: string; timezone: string }> = {
  turkey: { country: 'TR', timezone: 'Europe/Istanbul' },
  pjme: { country: 'US', timezone: 'America/New_York' },
  aep: { country: 'US', timezone: 'America/New_York' },
  comed: { country: 'US', timezone: 'America/Chicago' },
  spain: { country: 'ES', timezone: 'Europe/Madrid' },
};

/** The calendar of a known data set by its name (turkey, pjme, aep, comed, spain). */
export function knownCalendar(name: string): { country: string; timezone: string } | undefined {
  return KNOWN[name.toLowerCase()];
}

/** Series name and calendar for a CSV file: flags win, then known data set names, then UTC without holidays. */
export function seriesDefaultsFor(
  file: string,
  flags: { series?: string; country?: string; timezone?: string },
): SeriesDefaults {
  const stem = basename(file)
    .replace(/\.[^.]+$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-');
  const known = KNOWN[stem];
  return {
    name: flags.series ?? stem,
    country: flags.country ?? known?.country ?? null,
    timezone: flags.timezone ?? known?.timezone ?? 'UTC',
  };
}

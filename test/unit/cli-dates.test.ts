import { describe, expect, it } from 'vitest';
import { endOf, parseTimeArg, startOf, zoneFor } from '../../src/cli/dates.ts';
import { InputError } from '../../src/core/errors.ts';
import type { SeriesInfo } from '../../src/core/series.ts';

const series = (name: string, timezone: string): SeriesInfo => ({
  id: name.length,
  name,
  unit: 'MWh',
  timezone,
  country: null,
  modelVersion: null,
  minPlausible: null,
  maxPlausible: null,
});
const iso = (ms: number) => new Date(ms).toISOString();

// Issue 15, defect 9: `--to DATE` meant 00:00 UTC in backfill and metrics, 23:00 UTC in report and the end of
// the local day in backtest. Now every command uses these functions: a date is a whole local day of the
// series, an ISO time an instant.
describe('the one date rule of the CLI', () => {
  it('a date is the whole local day of the series: first hour as a start, last hour as an end', () => {
    const day = parseTimeArg('to', '2025-01-31');
    expect(iso(startOf(day, 'Europe/Istanbul'))).toBe('2025-01-30T21:00:00.000Z');
    expect(iso(endOf(day, 'Europe/Istanbul'))).toBe('2025-01-31T20:00:00.000Z');
    expect(iso(startOf(day, 'America/New_York'))).toBe('2025-01-31T05:00:00.000Z');
    expect(iso(endOf(day, 'America/New_York'))).toBe('2025-02-01T04:00:00.000Z');
    // A day with a DST change has 23 hours: its last hour is still the one before the next local midnight.
    const spring = parseTimeArg('to', '2025-03-09');
    expect(iso(endOf(spring, 'America/New_York'))).toBe('2025-03-10T03:00:00.000Z');
  });

  it('an ISO time with an offset is that instant, whatever the zone and the flag', () => {
    const t = parseTimeArg('at', '2025-12-31T21:07:00Z');
    expect(startOf(t, 'Europe/Istanbul')).toBe(Date.UTC(2025, 11, 31, 21, 7));
    expect(endOf(t, 'America/New_York')).toBe(Date.UTC(2025, 11, 31, 21, 7));
    expect(iso(startOf(parseTimeArg('from', '2025-06-01T03:00:00+03:00'), 'UTC'))).toBe(
      '2025-06-01T00:00:00.000Z',
    );
  });

  it.each([
    ['2025-02-30T00:00:00Z', 'rolled over to 2 March before'],
    ['2025-02-30', 'an impossible date'],
    ['2025-01-31T25:00:00Z', 'hour 25'],
    ['2025-01-31T13:00:00', 'no offset: ambiguous'],
    ['yesterday', 'not a time'],
    ['1735689600000', 'epoch milliseconds'],
  ])('refuses %s (%s), naming the flag and the value', (text) => {
    expect(() => parseTimeArg('at', text)).toThrow(InputError);
    expect(() => parseTimeArg('at', text)).toThrow(`--at "${text}" is not a date`);
  });

  it('refuses a date over series in different time zones, and accepts an instant there', () => {
    const both = [series('tr', 'Europe/Istanbul'), series('pjme', 'America/New_York')];
    expect(() => zoneFor(both, [parseTimeArg('from', '2025-01-01')])).toThrow(
      '--from 2025-01-01 is a local day, but the series are in different time zones (Europe/Istanbul, America/New_York)',
    );
    expect(zoneFor(both, [parseTimeArg('from', '2025-01-01T00:00:00Z')])).toBe('Europe/Istanbul');
    expect(zoneFor([series('pjme', 'America/New_York')], [parseTimeArg('to', '2025-01-01')])).toBe(
      'America/New_York',
    );
    expect(zoneFor([], [parseTimeArg('to', '2025-01-01')])).toBe('UTC');
  });
});

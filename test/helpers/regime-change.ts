import { spawnSync } from 'node:child_process';
import { DEFAULT_RECIPE, type TrainingRecipe } from '../../src/adapters/training/recipe.ts';
import { localHour } from '../../src/core/calendar/localTime.ts';
import type { ActualRow } from '../../src/core/csv.ts';
import type { SeriesCalendar } from '../../src/core/forecaster.ts';
import { HOUR_MS } from '../../src/core/time.ts';

/** The champion/challenger fixture shared by the local (retraining) and managed retraining tests. */
export const hasTorch =
  spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

// No holidays: the decision must turn on the regime, not on which holidays fall in the 2 weeks.
export const CALENDAR: SeriesCalendar = { country: null, timezone: 'Europe/Berlin' };
export const FROM = Date.UTC(2025, 0, 5, 23); // local midnight, Monday 6 January 2025
export const DAYS = 112;
export const CHANGE_DAY = 56;
export const TINY: TrainingRecipe = {
  ...DEFAULT_RECIPE,
  windowHours: 168,
  validationDays: 7,
  epochs: 6,
  members: 1,
  hidden: 64,
  patience: 3,
  workers: 1,
};

/** A level shift (+25 %) and a new daily shape (evening load moved to the night) from CHANGE_DAY on. */
export function regimeChange(rows: ActualRow[]): ActualRow[] {
  const change = FROM + CHANGE_DAY * 24 * HOUR_MS;
  return rows.map((r) => {
    if (r.hour < change) return r;
    const h = localHour(CALENDAR.timezone, r.hour).hour;
    const shape = 1 + 0.18 * Math.sin((2 * Math.PI * (h - 1)) / 24);
    return { hour: r.hour, value: Math.round(r.value * 1.25 * shape * 100) / 100 };
  });
}

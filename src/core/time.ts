/** Hours are carried as epoch milliseconds of the hour start in UTC. */
export const HOUR_MS = 3_600_000;

export type HourMs = number;

export function isOnHour(ms: number): boolean {
  return Number.isFinite(ms) && ms % HOUR_MS === 0;
}

export function floorToHour(ms: number): HourMs {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

export function addHours(hour: HourMs, hours: number): HourMs {
  return hour + hours * HOUR_MS;
}

export function hoursBetween(from: HourMs, to: HourMs): number {
  return Math.round((to - from) / HOUR_MS);
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A clock injected into the core, so runs can be replayed "as of" any time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(ms: number): Clock {
  return { now: () => ms };
}

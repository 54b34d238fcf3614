/** Hours are carried as epoch milliseconds of the hour start in UTC. */
export const HOUR_MS = 3_600_000;

export type HourMs = number;

export function isOnHour(ms: number): boolean {
  return Number.isFinite(ms) && ms % HOUR_MS === 0;
}

export function floorToHour(ms: number): HourMs {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

export function hoursBetween(from: HourMs, to: HourMs): number {
  return Math.round((to - from) / HOUR_MS);
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const ISO_FIELDS =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

/**
 * Whether an ISO 8601 date-time names a real calendar time. `Date.parse` rolls impossible fields over
 * ("2025-02-30" is 2 March, "T24:00" the next day), which would file a value under another hour.
 */
export function hasValidIsoFields(text: string): boolean {
  const m = ISO_FIELDS.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[7] === undefined || (Number(m[7]) <= 18 && Number(m[8]) <= 59);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetOk
  );
}

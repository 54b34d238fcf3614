import { SourceError } from '../../core/errors.ts';
import type { FetchedActual, HourRange } from '../../core/ports/actuals-source.ts';
import { HOUR_MS, isOnHour, toIso } from '../../core/time.ts';

/** A problem with one field of one item; the caller turns it into a SourceError naming the item. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

// ISO 8601 date-time with an explicit offset (or Z): a local time alone is ambiguous.
const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function quote(raw: unknown): string {
  const text = typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Parses an ISO 8601 time with an offset (or Z) into UTC epoch ms. */
export function checkInstant(raw: unknown): Checked<number> {
  if (raw === undefined || raw === null) return { ok: false, reason: 'missing' };
  if (typeof raw !== 'string') return { ok: false, reason: `not a timestamp string: ${quote(raw)}` };
  const m = ISO_WITH_OFFSET.exec(raw.trim());
  if (!m) return { ok: false, reason: `unparseable timestamp ${quote(raw)} (need ISO 8601 with an offset)` };
  const [, y, mo, d, h, mi, s = '00', , offset = 'Z'] = m;
  const normalizedOffset = offset === 'Z' ? 'Z' : offset.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${m[7] ? `.${m[7]}` : ''}${normalizedOffset}`);
  // Date.parse rolls 2025-02-30 over to March; compare the fields back to catch that.
  const wallClock = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)));
  const fieldsValid =
    wallClock.getUTCFullYear() === Number(y) &&
    wallClock.getUTCMonth() === Number(mo) - 1 &&
    wallClock.getUTCDate() === Number(d) &&
    Number(h) < 24 &&
    Number(mi) < 60 &&
    Number(s) < 60;
  if (!Number.isFinite(ms) || !fieldsValid) return { ok: false, reason: `invalid date ${quote(raw)}` };
  return { ok: true, value: ms };
}

/** Parses an hour-start timestamp with an offset into UTC epoch ms. */
export function checkHourStart(raw: unknown): Checked<number> {
  const instant = checkInstant(raw);
  if (!instant.ok) return instant;
  if (!isOnHour(instant.value)) return { ok: false, reason: `timestamp ${quote(raw)} is not on the hour` };
  return instant;
}

/** A finite, non-negative number; numeric strings are accepted because many CSV-minded APIs send them. */
export function checkValue(raw: unknown): Checked<number> {
  if (raw === undefined || raw === null) return { ok: false, reason: 'missing' };
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && NUMBER.test(raw.trim())) value = Number(raw.trim());
  else if (typeof raw === 'string' && /^[+-]?(inf|infinity|nan)$/i.test(raw.trim()))
    return { ok: false, reason: `non-finite value ${quote(raw)}` };
  else return { ok: false, reason: `not a number: ${quote(raw)}` };
  // JSON.parse turns 1e999 into Infinity, so a number can still be non-finite here.
  if (!Number.isFinite(value)) return { ok: false, reason: `non-finite value ${quote(raw)}` };
  if (value < 0) return { ok: false, reason: `negative value ${value}` };
  return { ok: true, value };
}

/** Checks that a requested range is usable; an empty range means nothing to fetch. */
export function checkRange(source: string, range: HourRange): void {
  if (!isOnHour(range.from) || !isOnHour(range.to)) {
    throw new SourceError(
      `${source} source: range bounds must be UTC hour starts (got ${range.from}, ${range.to})`,
    );
  }
  if (range.to < range.from) {
    throw new SourceError(
      `${source} source: range ends before it starts (${toIso(range.from)} > ${toIso(range.to)})`,
    );
  }
}

/** Splits [from, to) into consecutive pieces of at most `maxHours` hours. */
export function splitRange(range: HourRange, maxHours: number): HourRange[] {
  const pieces: HourRange[] = [];
  for (let from = range.from; from < range.to; from += maxHours * HOUR_MS) {
    pieces.push({ from, to: Math.min(range.to, from + maxHours * HOUR_MS) });
  }
  return pieces;
}

/**
 * Keeps the items inside [from, to), sorted by hour. The same hour twice with the same value is
 * harmless; with different values the reply is contradictory and the whole reply is refused.
 * `label(i)` names item i in a message.
 */
export function collectInRange(
  where: string,
  items: readonly (FetchedActual & { index: number })[],
  range: HourRange,
  label: (index: number) => string,
): FetchedActual[] {
  const byHour = new Map<number, FetchedActual & { index: number }>();
  for (const item of items) {
    if (item.hour < range.from || item.hour >= range.to) continue;
    const seen = byHour.get(item.hour);
    if (seen && seen.value !== item.value) {
      throw new SourceError(
        `${where}: ${label(item.index)} repeats hour ${toIso(item.hour)} with value ${item.value} (${label(seen.index)} has ${seen.value})`,
      );
    }
    if (!seen) byHour.set(item.hour, item);
  }
  return [...byHour.values()].sort((a, b) => a.hour - b.hour).map(({ hour, value }) => ({ hour, value }));
}

function walk(body: unknown, path: string): { found: true; value: unknown } | { found: false; at: string } {
  let current = body;
  const seen: string[] = [];
  for (const key of path.split('.')) {
    seen.push(key);
    if (typeof current !== 'object' || current === null || !(key in current)) {
      return { found: false, at: seen.join('.') };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

/**
 * The items of a JSON answer: the array at `itemsPath` (a dotted path such as 'data.items'), or the body
 * itself; every item must be an object. `label` names the array in messages ('body' or the path).
 */
export function jsonItems(
  where: string,
  text: string,
  itemsPath: string | undefined,
): { items: Record<string, unknown>[]; label: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new SourceError(`${where}: malformed body, not JSON (${(error as Error).message})`);
  }
  let items: unknown = body;
  if (itemsPath) {
    const found = walk(body, itemsPath);
    if (!found.found)
      throw new SourceError(`${where}: malformed body, no "${found.at}" (items path "${itemsPath}")`);
    items = found.value;
  }
  const label = itemsPath ?? 'body';
  if (!Array.isArray(items)) throw new SourceError(`${where}: malformed body, "${label}" is not an array`);
  items.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new SourceError(`${where}: ${label}[${index}] is not an object`);
  });
  return { items: items as Record<string, unknown>[], label };
}

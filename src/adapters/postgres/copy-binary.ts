/**
 * PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
 * Format"), for the few column types the bulk forecast write needs. Binary, because parsing the text
 * of 630,000 doubles (a year of one series' forecasts with their bounds) was most of that write.
 */

/** Milliseconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;
const FLOAT8_OID = 701;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export type CopyColumn =
  | { readonly type: 'int4'; readonly values: readonly number[] }
  | { readonly type: 'int8'; readonly values: readonly (number | null)[] }
  | { readonly type: 'text'; readonly values: readonly (string | null)[] }
  /** Milliseconds since the Unix epoch. */
  | { readonly type: 'timestamptz'; readonly values: readonly number[] }
  /** One-dimensional, subscripts from 1; a null element is stored as NULL, a null array as NULL. */
  | { readonly type: 'float8[]'; readonly values: readonly (ArrayLike<number | null> | null)[] };

/**
 * The rows of `columns` (all of the same length) as one COPY … FROM STDIN (FORMAT binary) stream.
 * Throws a RangeError naming the column and row of a value the type cannot hold (a non-finite
 * double, a non-integer id), before anything is sent.
 */
export function encodeCopyBinary(columns: Readonly<Record<string, CopyColumn>>): Buffer {
  const names = Object.keys(columns);
  const list = names.map((n) => columns[n]!);
  const rows = list[0]?.values.length ?? 0;
  for (const [i, c] of list.entries()) {
    if (c.values.length !== rows)
      throw new RangeError(`column ${names[i]} has ${c.values.length} values, ${names[0]} has ${rows}`);
  }
  // Each distinct text is encoded once (a column repeats a few names thousands of times), and the size
  // is known before writing: one allocation, no copying.
  const encoded = new Map<string, Buffer>();
  const utf8 = (v: string) => {
    let bytes = encoded.get(v);
    if (!bytes) encoded.set(v, (bytes = Buffer.from(v, 'utf8')));
    return bytes;
  };
  const texts = list.map((c) =>
    c.type === 'text' ? c.values.map((v) => (v === null ? null : utf8(v))) : null,
  );
  let size = SIGNATURE.length + 8 + 2 + rows * 2;
  for (let c = 0; c < list.length; c++) {
    const column = list[c]!;
    for (let r = 0; r < rows; r++) {
      const v = column.values[r];
      size += 4;
      if (v === null || v === undefined) continue;
      if (column.type === 'int4') size += 4;
      else if (column.type === 'int8' || column.type === 'timestamptz') size += 8;
      else if (column.type === 'text') size += texts[c]![r]!.length;
      else size += arrayBytes(v as ArrayLike<number | null>);
    }
  }
  const buffer = Buffer.allocUnsafe(size);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let at = SIGNATURE.copy(buffer, 0);
  view.setInt32(at, 0); // flags: no OIDs
  view.setInt32(at + 4, 0); // no header extension
  at += 8;
  const fail = (c: number, r: number, what: string) =>
    new RangeError(`column ${names[c]}, row ${r + 1}: ${what}`);
  // An int8 as two int32 halves: exact for safe integers, without a BigInt per value.
  const int64 = (c: number, r: number, v: number) => {
    if (!Number.isSafeInteger(v)) throw fail(c, r, `${String(v)} is not an integer`);
    const high = Math.floor(v / TWO_32);
    view.setInt32(at, 8);
    view.setInt32(at + 4, high);
    view.setUint32(at + 8, v - high * TWO_32);
    at += 12;
  };
  for (let r = 0; r < rows; r++) {
    view.setInt16(at, list.length);
    at += 2;
    for (let c = 0; c < list.length; c++) {
      const column = list[c]!;
      const v = column.values[r];
      if (v === null || v === undefined) {
        view.setInt32(at, -1);
        at += 4;
        continue;
      }
      switch (column.type) {
        case 'int4':
          if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31)
            throw fail(c, r, `${String(v)} is not a 32-bit integer`);
          view.setInt32(at, 4);
          view.setInt32(at + 4, v as number);
          at += 8;
          break;
        case 'int8':
          int64(c, r, v as number);
          break;
        case 'text': {
          const bytes = texts[c]![r]!;
          view.setInt32(at, bytes.length);
          at += 4 + bytes.copy(buffer, at + 4);
          break;
        }
        case 'timestamptz':
          // microseconds since 2000 (safe integers until the year 287,000)
          if (!Number.isFinite(v)) throw fail(c, r, `${String(v)} is not a time`);
          int64(c, r, Math.round(((v as number) - PG_EPOCH_MS) * 1000));
          break;
        case 'float8[]': {
          const items = v as ArrayLike<number | null>;
          view.setInt32(at, arrayBytes(items));
          at += 4;
          if (items.length === 0) {
            // an empty array has no dimensions
            view.setInt32(at, 0);
            view.setInt32(at + 4, 0);
            view.setInt32(at + 8, FLOAT8_OID);
            at += 12;
            break;
          }
          // dimensions, null flag, element type, length, lower bound; then each element
          view.setInt32(at, 1);
          view.setInt32(at + 4, hasNull(items) ? 1 : 0);
          view.setInt32(at + 8, FLOAT8_OID);
          view.setInt32(at + 12, items.length);
          view.setInt32(at + 16, 1);
          at += 20;
          if (items instanceof Float64Array) {
            // the model's values: no nulls, and one element type for the JIT
            for (let i = 0; i < items.length; i++) {
              const x = items[i]!;
              if (!Number.isFinite(x)) throw fail(c, r, `non-finite number ${x} at index ${i}`);
              view.setInt32(at, 8);
              view.setFloat64(at + 4, x);
              at += 12;
            }
            break;
          }
          for (let i = 0; i < items.length; i++) {
            const x = items[i];
            if (x === null || x === undefined) {
              view.setInt32(at, -1);
              at += 4;
              continue;
            }
            if (!Number.isFinite(x)) throw fail(c, r, `non-finite number ${x} at index ${i}`);
            view.setInt32(at, 8);
            view.setFloat64(at + 4, x);
            at += 12;
          }
          break;
        }
      }
    }
  }
  view.setInt16(at, -1);
  return buffer;
}

/** The size of a float8[] value: 20 bytes of header (12 when empty), 4 per element, 8 per non-null one. */
function arrayBytes(items: ArrayLike<number | null>): number {
  if (items.length === 0) return 12;
  if (items instanceof Float64Array) return 20 + 12 * items.length;
  let bytes = 20;
  for (let i = 0; i < items.length; i++) bytes += items[i] === null || items[i] === undefined ? 4 : 12;
  return bytes;
}

function hasNull(items: ArrayLike<number | null>): boolean {
  if (items instanceof Float64Array) return false;
  for (let i = 0; i < items.length; i++) if (items[i] === null || items[i] === undefined) return true;
  return false;
}

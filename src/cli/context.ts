import { InputError } from '../core/errors.ts';
import { openDatabase, type DatabaseHandle } from './local-database.ts';

export interface GlobalOptions {
  readonly verbose?: boolean;
}

export const say = (line: string) => process.stdout.write(line + '\n');
export const note = (line: string) => process.stderr.write(line + '\n');

/** Prints a command's result: as JSON with --json (for scripts), else the human text. */
export function emit(json: boolean | undefined, value: unknown, text: string): void {
  say(json ? JSON.stringify(value, null, 2) : text);
}

/** Opens the database for one command and always closes the connection afterwards. */
export async function withDatabase<T>(work: (db: DatabaseHandle) => Promise<T>): Promise<T> {
  const db = await openDatabase({ log: note });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** Parses a --from/--to/--at style option: ISO 8601 with an offset, or a date (midnight UTC). */
export function parseTimeOption(name: string, value: string): number {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const ms = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw new InputError(`--${name} "${value}" is not a date: use 2025-01-31 or 2025-01-31T13:00:00Z`);
  }
  return ms;
}

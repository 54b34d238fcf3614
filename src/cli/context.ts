import { createPostgresStores } from '../adapters/postgres/stores.ts';
import { onInterrupt } from './interrupt.ts';
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
  // Ctrl-C or a kill: the runs this process holds are recorded as failed before it exits.
  const forget = onInterrupt((signal) =>
    createPostgresStores(db.sql).runs.failOpenRuns(
      `interrupted by ${signal}: the CLI was stopped during the run`,
    ),
  );
  try {
    return await work(db);
  } finally {
    forget();
    await db.close();
  }
}

import { join } from 'node:path';
import {
  isLocalDatabaseRunning,
  runningPort,
  startLocalDatabase,
  stopLocalDatabase,
} from '../adapters/embedded-db.ts';
import { ensureDatabase } from '../adapters/postgres/admin.ts';
import { connect, type Sql } from '../adapters/postgres/client.ts';
import { runMigrations } from '../adapters/postgres/migrate.ts';
import { DatabaseError } from '../core/errors.ts';
import { cliConfig } from './config.ts';
import { PULSE_DIR } from './paths.ts';

/** The project's own PostgreSQL: a git-ignored data directory under the project. */
export const LOCAL_DATA_DIR = join(PULSE_DIR, 'pg');
export const LOCAL_PORT = cliConfig().localPort;
const LOCAL_DATABASE = 'pulse';
const LOCAL_USER = 'postgres';
const LOCAL_PASSWORD = 'pulse-local';

/** The local server's URL: the port it runs on (it may have been started with another PULSE_DB_PORT), else LOCAL_PORT. */
export function localUrl(database = LOCAL_DATABASE): string {
  const port = runningPort(LOCAL_DATA_DIR) ?? LOCAL_PORT;
  return `postgres://${LOCAL_USER}:${LOCAL_PASSWORD}@127.0.0.1:${port}/${database}`;
}

export interface DatabaseHandle {
  readonly sql: Sql;
  readonly url: string;
  /** True when this process started the local server (and may stop it at the end). */
  readonly startedHere: boolean;
  close(): Promise<void>;
}

/**
 * Opens the database the CLI works on: `url` (a caller's own server) or DATABASE_URL when set, else the
 * embedded local server, started and migrated on first use.
 */
export async function openDatabase(
  options: { log?: (line: string) => void; url?: string } = {},
): Promise<DatabaseHandle> {
  const external = options.url ?? cliConfig().database.url;
  if (external) {
    const sql = connect(external);
    await migrateOrExplain(sql, external);
    return { sql, url: external, startedHere: false, close: () => sql.end({ timeout: 2 }) };
  }
  const startedHere = await startLocalDatabase({
    dataDir: LOCAL_DATA_DIR,
    port: LOCAL_PORT,
    user: LOCAL_USER,
    password: LOCAL_PASSWORD,
  });
  if (startedHere) options.log?.(`started local PostgreSQL in ${LOCAL_DATA_DIR} on port ${LOCAL_PORT}`);
  let url: string;
  try {
    url = await ensureDatabase(localUrl(), LOCAL_DATABASE);
  } catch (error) {
    throw unreachable(error, localUrl('postgres'));
  }
  const sql = connect(url);
  await migrateOrExplain(sql, url);
  return { sql, url, startedHere, close: () => sql.end({ timeout: 2 }) };
}

/** The first statement of a command: a database that cannot be reached is one clear DatabaseError. */
async function migrateOrExplain(sql: Sql, url: string): Promise<void> {
  try {
    await runMigrations(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw unreachable(error, url);
  }
}

function unreachable(error: unknown, url: string): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = (error as { code?: string }).code ?? (error as Error).message;
  return new DatabaseError(
    `cannot reach the database at ${new URL(url).host} (${code}); is it running? ("pulse db status" tells)`,
    { cause: error },
  );
}

export { isLocalDatabaseRunning, stopLocalDatabase };

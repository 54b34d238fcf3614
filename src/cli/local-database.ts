import { join } from 'node:path';
import postgres from 'postgres';
import { isLocalDatabaseRunning, startLocalDatabase, stopLocalDatabase } from '../adapters/embedded-db.ts';
import { connect, type Sql } from '../adapters/postgres/client.ts';
import { runMigrations } from '../adapters/postgres/migrate.ts';

/** The project's own PostgreSQL: a git-ignored data directory under the project. */
export const LOCAL_DATA_DIR = join(process.cwd(), '.pulse', 'pg');
export const LOCAL_PORT = Number(process.env.PULSE_DB_PORT ?? 54329);
const LOCAL_DATABASE = 'pulse';
const LOCAL_USER = 'postgres';
const LOCAL_PASSWORD = 'pulse-local';

export function localUrl(database = LOCAL_DATABASE): string {
  return `postgres://${LOCAL_USER}:${LOCAL_PASSWORD}@127.0.0.1:${LOCAL_PORT}/${database}`;
}

export interface DatabaseHandle {
  readonly sql: Sql;
  readonly url: string;
  /** True when this process started the local server (and may stop it at the end). */
  readonly startedHere: boolean;
  close(): Promise<void>;
}

/**
 * Opens the database the CLI works on: DATABASE_URL when set, else the embedded local server, started
 * and migrated on first use.
 */
export async function openDatabase(options: { log?: (line: string) => void } = {}): Promise<DatabaseHandle> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const sql = connect(external);
    await runMigrations(sql);
    return { sql, url: external, startedHere: false, close: () => sql.end({ timeout: 2 }) };
  }
  const startedHere = await startLocalDatabase({
    dataDir: LOCAL_DATA_DIR,
    port: LOCAL_PORT,
    user: LOCAL_USER,
    password: LOCAL_PASSWORD,
  });
  if (startedHere) options.log?.(`started local PostgreSQL in ${LOCAL_DATA_DIR} on port ${LOCAL_PORT}`);
  const admin = postgres(localUrl('postgres'), { max: 1, onnotice: () => undefined });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${LOCAL_DATABASE}`;
    if (!exists) await admin.unsafe(`create database ${LOCAL_DATABASE}`); // a constant name, not input
  } finally {
    await admin.end();
  }
  const url = localUrl();
  const sql = connect(url);
  await runMigrations(sql);
  return { sql, url, startedHere, close: () => sql.end({ timeout: 2 }) };
}

export { isLocalDatabaseRunning, stopLocalDatabase };

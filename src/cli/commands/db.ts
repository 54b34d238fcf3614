import type { Command } from 'commander';
import { runMigrations } from '../../adapters/postgres/migrate.ts';
import { withDatabase, say } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import {
  isLocalDatabaseRunning,
  LOCAL_DATA_DIR,
  LOCAL_PORT,
  localUrl,
  stopLocalDatabase,
} from '../local-database.ts';

export function registerDbCommand(program: Command): void {
  const db = program.command('db').description('manage the local embedded PostgreSQL');
  db.command('start')
    .description(`start the local database (data in .pulse/pg, port ${LOCAL_PORT}) and migrate it`)
    .action(async () => {
      await withDatabase(async (handle) =>
        say(`database ready: ${handle.url.replace(/:[^:@/]+@/, ':***@')}`),
      );
    });
  db.command('stop')
    .description('stop the local database')
    .action(async () => {
      say(
        (await stopLocalDatabase(LOCAL_DATA_DIR))
          ? 'local database stopped'
          : 'local database was not running',
      );
    });
  db.command('migrate')
    .description('apply pending schema migrations (DATABASE_URL or the local database)')
    .action(async () => {
      await withDatabase(async ({ sql }) => {
        const { applied } = await runMigrations(sql);
        say(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
      });
    });
  db.command('status')
    .description('whether the local database runs, and its connection string (for psql or Grafana)')
    .action(() => {
      if (process.env.DATABASE_URL) {
        say(`DATABASE_URL is set: ${process.env.DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}`);
        return;
      }
      if (!isLocalDatabaseRunning(LOCAL_DATA_DIR)) {
        say(`not running (data in ${LOCAL_DATA_DIR}); "pulse db start" starts it`);
        process.exitCode = EXIT.database;
        return;
      }
      // The local server's fixed password is no secret: it listens on 127.0.0.1 only.
      say(`running: ${localUrl()}`);
      say(`psql "${localUrl()}"`);
    });
}

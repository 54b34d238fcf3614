import type { Command } from 'commander';
import { runMigrations } from '../../adapters/postgres/migrate.ts';
import { emit, withDatabase } from '../context.ts';
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
      await withDatabase(async (handle) => {
        const url = masked(handle.url);
        emit({ running: true, url }, `database ready: ${url}`);
      });
    });
  db.command('stop')
    .description('stop the local database')
    .action(async () => {
      const stopped = await stopLocalDatabase(LOCAL_DATA_DIR);
      emit({ stopped }, stopped ? 'local database stopped' : 'local database was not running');
    });
  db.command('migrate')
    .description('apply pending schema migrations (DATABASE_URL or the local database)')
    .action(async () => {
      await withDatabase(async ({ sql }) => {
        const { applied } = await runMigrations(sql);
        emit({ applied }, applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
      });
    });
  db.command('status')
    .description('whether the local database runs, and its connection string (for psql or Grafana)')
    .action(() => {
      if (process.env.DATABASE_URL) {
        const url = masked(process.env.DATABASE_URL);
        emit({ running: null, url, databaseUrlSet: true }, `DATABASE_URL is set: ${url}`);
        return;
      }
      if (!isLocalDatabaseRunning(LOCAL_DATA_DIR)) {
        emit(
          { running: false, dataDir: LOCAL_DATA_DIR },
          `not running (data in ${LOCAL_DATA_DIR}); "pulse db start" starts it`,
          EXIT.database,
        );
        return;
      }
      // The local server's fixed password is no secret: it listens on 127.0.0.1 only.
      emit(
        { running: true, url: localUrl(), dataDir: LOCAL_DATA_DIR },
        `running: ${localUrl()}\npsql "${localUrl()}"`,
      );
    });
}

/** A connection string with its password replaced by ***. */
const masked = (url: string) => url.replace(/:[^:@/]+@/, ':***@');

import { ConfigurationError } from '../../core/errors.ts';
import type { Runtime } from '../runtime.ts';
import { connect } from '../postgres/client.ts';
import { upsertLoginUser, type GroupRole } from '../postgres/login-users.ts';
import { loadMigrations, runMigrations } from '../postgres/migrate.ts';
import { databaseUrlFromSecret, readDatabaseSecret } from '../secrets.ts';
import { withFailureLogging, type Handler } from './handler.ts';

export interface MigrateResult {
  readonly applied: string[];
  readonly users: Array<{ username: string; groupRole: GroupRole; change: 'created' | 'updated' }>;
}

/**
 * Deploy-time database setup, invoked by a CDK trigger after the database exists: applies pending
 * migrations as the master user (the same runMigrations as local), then creates or updates the login
 * users of the functions (pulse_app) and Grafana (pulse_reader) with the passwords in their secrets.
 * A thrown error fails the deployment, which is what we want when the schema cannot be brought up.
 */
export function createMigrateHandler(runtime: Runtime): Handler<unknown, MigrateResult> {
  const { config, logger } = runtime;
  return withFailureLogging('migrate', logger, async () => {
    const { masterSecretArn, appSecretArn, readerSecretArn } = config.migrate;
    const missing = Object.entries({
      MASTER_SECRET_ARN: masterSecretArn,
      APP_SECRET_ARN: appSecretArn,
      READER_SECRET_ARN: readerSecretArn,
      DATABASE_HOST: config.database.host,
    })
      .filter(([, value]) => !value)
      .map(([name]) => name);
    if (missing.length) throw new ConfigurationError(`migrate configuration: ${missing.join(', ')} not set`);
    const [master, app, reader] = await Promise.all(
      [masterSecretArn!, appSecretArn!, readerSecretArn!].map((arn) =>
        readDatabaseSecret(runtime.secrets(), arn),
      ),
    );
    const url = databaseUrlFromSecret(master!, {
      host: config.database.host,
      port: config.database.port,
      database: config.database.name,
      ssl: false, // TLS is set on the client
    });
    const sql = connect(url, { max: 1, ssl: config.database.ssl, connectTimeoutSeconds: 10 });
    try {
      const { applied } = await runMigrations(
        sql,
        config.migrationsDir ? loadMigrations(config.migrationsDir) : undefined,
      );
      const users: MigrateResult['users'] = [];
      for (const [secret, groupRole] of [
        [app!, 'pulse_app'],
        [reader!, 'pulse_reader'],
      ] as const) {
        const change = await upsertLoginUser(sql, {
          username: secret.username,
          password: secret.password,
          groupRole,
        });
        users.push({ username: secret.username, groupRole, change });
      }
      // No secret values here: names of migrations and users only.
      logger.info('database migrated', { applied, users });
      return { applied, users };
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
}

import { ConfigurationError } from '../../core/errors.ts';
import type { SeriesConfig } from '../../core/series-config.ts';
import type { Runtime } from '../runtime.ts';
import { connect, type Sql } from '../postgres/client.ts';
import { PostgresHolidaysStore } from '../postgres/holidays-store.ts';
import { upsertLoginUser, type GroupRole } from '../postgres/login-users.ts';
import { loadMigrations, runMigrations } from '../postgres/migrate.ts';
import {
  applySeriesConfig,
  listSeriesStates,
  type AppliedSeriesConfig,
  type SeriesState,
} from '../postgres/series-config-repository.ts';
import { databaseUrlFromSecret, readDatabaseSecret, type DatabaseSecret } from '../secrets.ts';
import { readSeriesConfigFile } from '../series-config-file.ts';
import { withFailureLogging, type Handler } from './handler.ts';

export interface MigrateResult {
  readonly applied: string[];
  readonly users: Array<{ username: string; groupRole: GroupRole; change: 'created' | 'updated' }>;
  /** Absent when no series configuration is set (PULSE_SERIES_CONFIG). */
  readonly seriesConfig?: AppliedSeriesConfig;
  readonly holidays?: { fromYear: number; toYear: number; rows: number };
  readonly series: SeriesState[];
}

/** The manual invoke {"mode":"series"}: every series, active or not, configured or imported, its newest data. */
export interface SeriesListing {
  readonly series: SeriesState[];
}

function isSeriesListing(event: unknown): boolean {
  return (event as { mode?: unknown } | null)?.mode === 'series';
}

/**
 * Deploy-time database setup, invoked by a CDK trigger after the database exists: applies pending
 * migrations as the master user (the same runMigrations as local), creates or updates the login users
 * of the functions (pulse_app) and Grafana (pulse_reader) with the passwords in their secrets, applies
 * the series configuration (the bundled pulse.config.json) and fills the holidays of its countries. A
 * thrown error fails the deployment, which is what we want when the schema cannot be brought up.
 * Invoked by hand with {"mode":"series"}, it changes nothing and lists the series and their state.
 */
export function createMigrateHandler(
  runtime: Runtime,
  clock: () => number = Date.now,
): Handler<unknown, MigrateResult | SeriesListing> {
  const { config, logger } = runtime;

  const connectAsMaster = async (master?: DatabaseSecret): Promise<Sql> => {
    const secret = master ?? (await readDatabaseSecret(runtime.secrets(), config.migrate.masterSecretArn!));
    const url = databaseUrlFromSecret(secret, {
      host: config.database.host,
      port: config.database.port,
      database: config.database.name,
      ssl: false, // TLS is set on the client
    });
    return connect(url, {
      max: 1,
      ssl: config.database.ssl,
      caFile: config.database.caBundle,
      connectTimeoutSeconds: 10,
    });
  };

  return withFailureLogging('migrate', logger, async (event) => {
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

    if (isSeriesListing(event)) {
      const sql = await connectAsMaster();
      try {
        return { series: await listSeriesStates(sql) };
      } finally {
        await sql.end({ timeout: 5 });
      }
    }

    // Read (and validate) the configuration before touching the database: a bad file changes nothing.
    const seriesConfig: SeriesConfig | undefined = config.seriesConfigFile
      ? readSeriesConfigFile(config.seriesConfigFile)
      : undefined;
    const [master, app, reader] = await Promise.all(
      [masterSecretArn!, appSecretArn!, readerSecretArn!].map((arn) =>
        readDatabaseSecret(runtime.secrets(), arn),
      ),
    );
    const sql = await connectAsMaster(master);
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
      const appliedConfig = seriesConfig ? await applySeriesConfig(sql, seriesConfig) : undefined;
      const holidays = seriesConfig ? await new PostgresHolidaysStore(sql).fill(clock()) : undefined;
      const series = await listSeriesStates(sql);
      // No secret values here: names of migrations, users and series only.
      logger.info('database migrated', { applied, users, seriesConfig: appliedConfig, holidays, series });
      if (appliedConfig?.unknownModels.length) {
        logger.warn(
          'series configured with a model no function has registered yet; they use the default model',
          {
            unknownModels: appliedConfig.unknownModels,
          },
        );
      }
      return { applied, users, seriesConfig: appliedConfig, holidays, series };
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
}

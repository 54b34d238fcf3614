import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, DatabaseError } from '../core/errors.ts';
import type { RuntimeConfig } from './config.ts';
import { createObservability, type Observability } from './observability.ts';
import { connect, isConnectionLost, type Sql } from './postgres/client.ts';
import { createPostgresStores, type PostgresStores } from './postgres/stores.ts';
import { createSecretsClient, databaseUrlFromSecret, readDatabaseSecret } from './secrets.ts';

export interface RuntimeOptions {
  /** Default: Powertools with the configured service name and namespace. */
  readonly observability?: Observability;
  /** Default: one client, created on first use. */
  readonly secrets?: SecretsManagerClient;
  /** Connections in the pool; a Lambda container needs one. */
  readonly poolSize?: number;
}

/**
 * What handlers, the CLI and tests share: the configuration, one connection pool with its stores, the
 * secrets client, the logger and metrics (the models are the forecast's: see models.ts). Nothing is opened until it is used, and `close` releases it all.
 */
export interface Runtime extends Observability {
  readonly config: RuntimeConfig;
  /** The process's Secrets Manager client. */
  secrets(): SecretsManagerClient;
  /**
   * Runs `work` with the stores over the runtime's connection. When the password was rotated
   * (authentication failure), the secret is read again once and the work retried; connection failures
   * become a DatabaseError saying where and what to do.
   */
  withStores<T>(work: (stores: PostgresStores) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function openRuntime(config: RuntimeConfig, options: RuntimeOptions = {}): Runtime {
  const observability =
    options.observability ??
    createObservability({ serviceName: config.serviceName, metricsNamespace: config.metricsNamespace });
  let secrets = options.secrets;
  const secretsClient = () => (secrets ??= createSecretsClient());
  let connection: Promise<Sql> | undefined;

  const open = async (): Promise<Sql> => {
    const db = config.database;
    const pool = { max: options.poolSize ?? 1, ssl: db.ssl, caFile: db.caBundle };
    if (db.url) return connect(db.url, pool);
    if (!db.secretArn)
      throw new ConfigurationError(
        'function configuration: DATABASE_URL: set DATABASE_URL (local) or DATABASE_SECRET_ARN (AWS)',
      );
    const secret = await readDatabaseSecret(secretsClient(), db.secretArn);
    // TLS is set on the client, not in the URL.
    const url = databaseUrlFromSecret(secret, {
      host: db.host,
      port: db.port,
      database: db.name,
      ssl: false,
    });
    return connect(url, pool);
  };
  const database = (): Promise<Sql> => {
    if (!connection) {
      connection = open();
      connection.catch(() => (connection = undefined));
    }
    return connection;
  };
  const disconnect = async (): Promise<void> => {
    const previous = connection;
    connection = undefined;
    if (previous) await (await previous.catch(() => undefined))?.end({ timeout: 1 });
  };
  const attempt = async <T>(work: (stores: PostgresStores) => Promise<T>) =>
    work(createPostgresStores(await database()));

  return {
    ...observability,
    config,
    secrets: secretsClient,
    async withStores(work) {
      try {
        return await attempt(work);
      } catch (error) {
        if (!isAuthFailure(error)) throw describeConnectionError(error, config);
        await disconnect();
        try {
          return await attempt(work);
        } catch (retryError) {
          if (isAuthFailure(retryError)) {
            throw new DatabaseError(
              `database authentication failed twice, also after re-reading ${config.database.secretArn ? 'the secret' : 'DATABASE_URL'}; check the credentials and the role`,
              { cause: retryError },
            );
          }
          throw describeConnectionError(retryError, config);
        }
      }
    },
    async close() {
      await disconnect();
    },
  };
}

const AUTH_FAILED = new Set(['28P01', '28000']);

function isAuthFailure(error: unknown): boolean {
  return AUTH_FAILED.has((error as { code?: string })?.code ?? '');
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'CONNECT_TIMEOUT', 'ENOTFOUND', 'CONNECTION_ENDED']);

function describeConnectionError(error: unknown, config: RuntimeConfig): unknown {
  const code = (error as { code?: string })?.code;
  if (isConnectionLost(error)) {
    return new DatabaseError(
      `lost the connection to the database at ${where(config)} during the run (${code}); each write is all or nothing, so none is half-stored; the next run or a retry completes the work`,
      { cause: error },
    );
  }
  if (code && UNREACHABLE.has(code)) {
    return new DatabaseError(
      `cannot reach the database at ${where(config)} (${code}); is it running and reachable?`,
      { cause: error },
    );
  }
  return error;
}

function where(config: RuntimeConfig): string {
  const db = config.database;
  return db.host ?? (db.url ? new URL(db.url).host : 'the database');
}

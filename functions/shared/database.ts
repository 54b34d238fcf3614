import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { connect, type Sql } from '../../src/adapters/postgres/client.ts';
import { databaseUrlFromSecret, readDatabaseSecret } from '../../src/adapters/secrets.ts';
import { DatabaseError } from '../../src/core/errors.ts';
import type { FunctionConfig } from './config.ts';

let secretsClient: SecretsManagerClient | undefined;
let current: Promise<Sql> | undefined;

/** The Secrets Manager client of this container (replaceable in tests). */
export function secretsManager(): SecretsManagerClient {
  return (secretsClient ??= new SecretsManagerClient({}));
}

async function open(config: FunctionConfig): Promise<Sql> {
  if (config.databaseUrl) return connect(config.databaseUrl, { max: 1, ssl: config.databaseSsl });
  const secret = await readDatabaseSecret(secretsManager(), config.databaseSecretArn!);
  const url = databaseUrlFromSecret(secret, {
    host: config.databaseHost,
    port: config.databasePort,
    database: config.databaseName,
    ssl: false, // TLS is set on the client below
  });
  return connect(url, { max: 1, ssl: config.databaseSsl });
}

/** One connection per container, opened on first use. */
export function database(config: FunctionConfig): Promise<Sql> {
  if (!current) {
    current = open(config);
    current.catch(() => (current = undefined));
  }
  return current;
}

/** Closes and forgets the container's connection (after rotation, or at the end of a local run). */
export async function resetDatabase(): Promise<void> {
  const previous = current;
  current = undefined;
  if (previous) await (await previous.catch(() => undefined))?.end({ timeout: 1 });
}

const AUTH_FAILED = new Set(['28P01', '28000']);

/**
 * Runs `work` with the container's connection. When the password was rotated (authentication failure),
 * the secret is read again once and the work retried; a second failure is a clear error.
 */
export async function withDatabase<T>(config: FunctionConfig, work: (sql: Sql) => Promise<T>): Promise<T> {
  try {
    return await work(await database(config));
  } catch (error) {
    if (!isAuthFailure(error)) throw describeConnectionError(error, config);
    await resetDatabase();
    try {
      return await work(await database(config));
    } catch (retryError) {
      if (isAuthFailure(retryError)) {
        throw new DatabaseError(
          `database authentication failed twice, also after re-reading ${config.databaseSecretArn ? 'the secret' : 'DATABASE_URL'}; check the credentials and the role`,
          { cause: retryError },
        );
      }
      throw describeConnectionError(retryError, config);
    }
  }
}

function isAuthFailure(error: unknown): boolean {
  return AUTH_FAILED.has((error as { code?: string })?.code ?? '');
}

// The connection died under a running statement (server restart, failover, a terminated backend).
const CONNECTION_LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
]);

function describeConnectionError(error: unknown, config: FunctionConfig): unknown {
  const code = (error as { code?: string })?.code;
  if (code && CONNECTION_LOST.has(code)) {
    return new DatabaseError(
      `lost the connection to the database at ${where(config)} during the run (${code}); each write is one statement, so none is half-stored; the next run or a retry completes the work`,
      { cause: error },
    );
  }
  if (
    code === 'ECONNREFUSED' ||
    code === 'CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'CONNECTION_ENDED'
  ) {
    return new DatabaseError(
      `cannot reach the database at ${where(config)} (${code}); is it running and reachable?`,
      {
        cause: error,
      },
    );
  }
  return error;
}

function where(config: FunctionConfig): string {
  return config.databaseHost ?? (config.databaseUrl ? new URL(config.databaseUrl).host : 'the database');
}

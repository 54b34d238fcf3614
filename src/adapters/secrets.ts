import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../core/errors.ts';

/**
 * The one way Pulse reads a secret. Errors name the secret, never its text: Node's JSON.parse error
 * quotes its input, so a malformed secret would otherwise reach the logs.
 */
export async function readSecretJson(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<Record<string, unknown>> {
  const reply = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!reply.SecretString) throw new ConfigurationError(`secret ${secretArn} has no string value`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.SecretString);
  } catch {
    // Never echo the value (nor the parser's message, which quotes it): it is a credential.
    throw new ConfigurationError(`secret ${secretArn} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(`secret ${secretArn} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

export interface UsernamePassword {
  readonly username: string;
  readonly password: string;
}

/** The JSON of an RDS-managed (or RDS-format) database secret; host/port/dbname may be absent. */
export interface DatabaseSecret extends UsernamePassword {
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
}

/** Reads a database secret in the RDS format (username, password, host, port, dbname). */
export async function readDatabaseSecret(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<DatabaseSecret> {
  const parsed = await readSecretJson(client, secretArn);
  return {
    ...credentialsOf(parsed, secretArn),
    host: typeof parsed.host === 'string' ? parsed.host : undefined,
    port: parsed.port === undefined ? undefined : Number(parsed.port),
    dbname: typeof parsed.dbname === 'string' ? parsed.dbname : undefined,
  };
}

/** Reads a {username, password} JSON secret (EPİAŞ credentials, the Grafana reader, a database user). */
export async function readCredentialsSecret(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<UsernamePassword> {
  return credentialsOf(await readSecretJson(client, secretArn), secretArn);
}

function credentialsOf(parsed: Record<string, unknown>, secretArn: string): UsernamePassword {
  const { username, password } = parsed;
  if (typeof username !== 'string' || !username || typeof password !== 'string' || !password) {
    throw new ConfigurationError(`secret ${secretArn} lacks "username" or "password"`);
  }
  return { username, password };
}

export interface DatabaseEndpoint {
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly ssl: boolean;
}

/**
 * A postgres:// URL from a secret and the endpoint the environment names. One rule everywhere: the
 * environment wins for host, port and database (the stack knows where its database is); the secret's
 * values fill what the environment leaves out.
 */
export function databaseUrlFromSecret(secret: DatabaseSecret, endpoint: DatabaseEndpoint): string {
  const host = endpoint.host ?? secret.host;
  if (!host)
    throw new ConfigurationError('no database host: set DATABASE_HOST or store "host" in the secret');
  const port = endpoint.port ?? secret.port ?? 5432;
  const database = endpoint.database ?? secret.dbname ?? 'pulse';
  const user = encodeURIComponent(secret.username);
  const password = encodeURIComponent(secret.password);
  return `postgres://${user}:${password}@${host}:${port}/${encodeURIComponent(database)}${endpoint.ssl ? '?sslmode=require' : ''}`;
}

/** The Secrets Manager client of a process (a Lambda container keeps one). */
export function createSecretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}

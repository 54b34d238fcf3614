import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../core/errors.ts';

/** The JSON of an RDS-managed (or RDS-format) database secret; host/port/dbname may be absent. */
export interface DatabaseSecret {
  readonly username: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
}

export interface DatabaseEndpoint {
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly ssl: boolean;
}

/** Reads a database secret; the value is cached by the caller and re-read once after an auth failure. */
export async function readDatabaseSecret(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<DatabaseSecret> {
  const reply = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!reply.SecretString) throw new ConfigurationError(`secret ${secretArn} has no string value`);
  let parsed: Partial<DatabaseSecret>;
  try {
    parsed = JSON.parse(reply.SecretString) as Partial<DatabaseSecret>;
  } catch {
    // Never echo the value: it is a credential.
    throw new ConfigurationError(
      `secret ${secretArn} is not JSON in the RDS format (username, password, host, port, dbname)`,
    );
  }
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new ConfigurationError(`secret ${secretArn} lacks "username" or "password"`);
  }
  return {
    username: parsed.username,
    password: parsed.password,
    host: parsed.host,
    port: parsed.port === undefined ? undefined : Number(parsed.port),
    dbname: parsed.dbname,
  };
}

/** A postgres:// URL from a secret and the endpoint from the environment (the environment wins for host/port/db). */
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

export interface UsernamePassword {
  readonly username: string;
  readonly password: string;
}

/** Reads a {username, password} JSON secret (e.g. EPİAŞ credentials). */
export async function readCredentialsSecret(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<UsernamePassword> {
  const secret = await readDatabaseSecret(client, secretArn);
  return { username: secret.username, password: secret.password };
}

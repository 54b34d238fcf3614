import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { connect } from '../../src/adapters/postgres/client.ts';
import { runMigrations } from '../../src/adapters/postgres/migrate.ts';
import { upsertLoginUser, type GroupRole } from './login-users.ts';

/**
 * Deploy-time database setup, invoked by a CDK trigger after the database exists: applies pending
 * migrations as the master user (the same runMigrations as local), then creates or updates the login
 * users of the functions (pulse_app) and Grafana (pulse_reader) with the passwords in their secrets.
 * A thrown error fails the deployment, which is what we want when the schema cannot be brought up.
 */

/** The RDS secret format: username and password always; host, port and dbname when attached. */
interface DatabaseSecretValue {
  readonly username: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number | string;
  readonly dbname?: string;
}

export interface MigrateResult {
  readonly applied: string[];
  readonly users: Array<{ username: string; groupRole: GroupRole; change: 'created' | 'updated' }>;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

export async function readDatabaseSecret(
  client: SecretsManagerClient,
  secretId: string,
): Promise<DatabaseSecretValue> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const value = JSON.parse(SecretString ?? '{}') as Partial<DatabaseSecretValue>;
  if (!value.username || !value.password) throw new Error(`secret ${secretId} has no username or password`);
  return value as DatabaseSecretValue;
}

export function connectionUrl(
  secret: DatabaseSecretValue,
  env: { host: string; port: string; database: string },
): string {
  const user = encodeURIComponent(secret.username);
  const password = encodeURIComponent(secret.password);
  return `postgres://${user}:${password}@${secret.host ?? env.host}:${secret.port ?? env.port}/${secret.dbname ?? env.database}`;
}

export async function migrate(
  secrets: SecretsManagerClient = new SecretsManagerClient({}),
): Promise<MigrateResult> {
  const env = {
    host: requireEnv('DATABASE_HOST'),
    port: requireEnv('DATABASE_PORT'),
    database: requireEnv('DATABASE_NAME'),
  };
  const [master, app, reader] = await Promise.all(
    ['MASTER_SECRET_ARN', 'APP_SECRET_ARN', 'READER_SECRET_ARN'].map((name) =>
      readDatabaseSecret(secrets, requireEnv(name)),
    ),
  );
  const sql = connect(connectionUrl(master!, env), {
    max: 1,
    ssl: process.env.DATABASE_SSL === 'require',
    connectTimeoutSeconds: 10,
  });
  try {
    const { applied } = await runMigrations(sql);
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
    return { applied, users };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export const handler = async (): Promise<MigrateResult> => {
  const result = await migrate();
  // No secret values here: names of migrations and users only.
  console.log(JSON.stringify({ message: 'database migrated', ...result }));
  return result;
};

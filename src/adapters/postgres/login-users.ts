import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { transaction, type Sql } from './client.ts';

/** The group roles of 0002_roles.sql that a login user may be put in. */
export type GroupRole = 'pulse_app' | 'pulse_reader';

export interface LoginUser {
  readonly username: string;
  readonly password: string;
  readonly groupRole: GroupRole;
}

// PostgreSQL's own default for password_encryption = scram-sha-256.
const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, the format of
 * pg_authid.rolpassword). Sending the verifier instead of the password means the plain password
 * never reaches the server, its statement log or pg_stat_statements.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): string {
  const saltedPassword = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Creates the login user, or resets its password, and makes it a member of its group role: the
 * same statement on the first deploy and on every later one. DDL takes no bind parameters, so the
 * values travel as transaction-local settings and PL/pgSQL quotes them with format(%I, %L).
 */
export async function upsertLoginUser(sql: Sql, user: LoginUser): Promise<'created' | 'updated'> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(user.username)) {
    throw new Error(`login user name ${JSON.stringify(user.username)} is not a plain PostgreSQL identifier`);
  }
  if (!user.password) throw new Error(`the secret of ${user.username} has no password`);
  return transaction(sql, async (tx) => {
    const [existing] = await tx`select 1 from pg_roles where rolname = ${user.username}`;
    await tx`
      select set_config('pulse.login_user', ${user.username}, true),
             set_config('pulse.login_verifier', ${scramSha256Verifier(user.password)}, true),
             set_config('pulse.group_role', ${user.groupRole}, true)`;
    await tx`
      do $$
      declare
        login text := current_setting('pulse.login_user');
        verifier text := current_setting('pulse.login_verifier');
        grp text := current_setting('pulse.group_role');
      begin
        -- Attributes other than LOGIN are left at their defaults: the RDS master is no superuser and
        -- may not even restate NOSUPERUSER.
        if exists (select 1 from pg_roles where rolname = login) then
          execute format('alter role %I with login password %L', login, verifier);
        else
          execute format('create role %I with login inherit password %L', login, verifier);
        end if;
        execute format('grant %I to %I', grp, login);
      end
      $$`;
    // Clear the verifier from the session before the transaction ends (it would be reset anyway).
    await tx`select set_config('pulse.login_verifier', '', true)`;
    return existing ? 'updated' : 'created';
  });
}

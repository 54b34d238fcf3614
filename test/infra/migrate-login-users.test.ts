import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramSha256Verifier, upsertLoginUser } from '../../src/adapters/postgres/login-users.ts';
import { databaseUrlFromSecret } from '../../src/adapters/secrets.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

// Roles are cluster-wide: unique names keep parallel test files apart, and afterAll drops them.
const suffix = randomBytes(4).toString('hex');
const appUser = `pulse_app_user_${suffix}`;
const readerUser = `pulse_reader_user_${suffix}`;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const user of [appUser, readerUser]) await db.sql`drop role if exists ${db.sql(user)}`;
  await db.drop();
});

async function as(username: string, password: string) {
  const url = new URL(db.url);
  return postgres(
    databaseUrlFromSecret(
      { username, password },
      { host: url.hostname, port: Number(url.port), database: db.name, ssl: false },
    ),
    {
      max: 1,
      onnotice: () => undefined,
    },
  );
}

describe('upsertLoginUser', () => {
  it('creates a login user in its group role that signs in with the secret password', async () => {
    expect(
      await upsertLoginUser(db.sql, {
        username: readerUser,
        password: 'Reader-pass-1',
        groupRole: 'pulse_reader',
      }),
    ).toBe('created');

    const reader = await as(readerUser, 'Reader-pass-1');
    try {
      const [row] = await reader`select count(*)::int as n from series`;
      expect(row!.n).toBe(0);
      await expect(reader`insert into series (name) values ('denied')`).rejects.toThrow(/permission denied/);
      await expect(reader`create table sneaky (x int)`).rejects.toThrow(/permission denied/);
    } finally {
      await reader.end();
    }
  });

  it('resets the password of an existing user without touching its membership', async () => {
    await upsertLoginUser(db.sql, { username: appUser, password: 'App-pass-1', groupRole: 'pulse_app' });

    expect(
      await upsertLoginUser(db.sql, { username: appUser, password: 'App-pass-2', groupRole: 'pulse_app' }),
    ).toBe('updated');

    await expect(as(appUser, 'App-pass-1').then((c) => c`select 1`)).rejects.toThrow(
      /password authentication failed/,
    );
    const app = await as(appUser, 'App-pass-2');
    try {
      await app`insert into series (name) values (${`s_${suffix}`})`;
      await expect(app`drop table actuals`).rejects.toThrow(/must be owner|permission denied/);
    } finally {
      await app.end();
    }
  });

  it('stores a SCRAM verifier, never the password', async () => {
    const [row] = await db.sql`select rolpassword from pg_authid where rolname = ${appUser}`;
    expect(row!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(row!.rolpassword).not.toContain('App-pass-2');
  });

  it('refuses a user name that is not a plain identifier', async () => {
    await expect(
      upsertLoginUser(db.sql, {
        username: 'x"; drop table series; --',
        password: 'p',
        groupRole: 'pulse_app',
      }),
    ).rejects.toThrow(/not a plain PostgreSQL identifier/);
  });
});

describe('scramSha256Verifier', () => {
  it('matches the RFC 7677 test vector', () => {
    // RFC 7677 §3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const verifier = scramSha256Verifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    expect(verifier).toBe(
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
    );
  });
});

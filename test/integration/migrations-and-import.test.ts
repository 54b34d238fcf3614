import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/adapters/postgres/client.ts';
import { loadMigrations, runMigrations } from '../../src/adapters/postgres/migrate.ts';
import { importActuals } from '../../src/cli/commands/import.ts';
import { createTestDatabase, serverUrl, type TestDatabase } from '../helpers/db.ts';

describe('migrations', () => {
  const name = `pulse_migrate_${process.pid}`;
  let admin: postgres.Sql;

  beforeAll(async () => {
    admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database ${name}`);
  });
  afterAll(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('apply once from two processes at once, then are a no-op', async () => {
    const a = connect(serverUrl(name), { max: 1 });
    const b = connect(serverUrl(name), { max: 1 });
    const [first, second] = await Promise.all([runMigrations(a), runMigrations(b)]);
    const all = loadMigrations().map((m) => m.id);
    expect([...first.applied, ...second.applied].sort()).toEqual(all);
    expect(await runMigrations(a)).toEqual({ applied: [] });
    const recorded = await a<{ id: string }[]>`select id from schema_migrations order by id`;
    expect(recorded.map((r) => r.id)).toEqual(all);
    await Promise.all([a.end(), b.end()]);
  });

  it('grant tables created by later migrations to the app and reader roles', async () => {
    const sql = connect(serverUrl(name), { max: 1 });
    await runMigrations(sql, [{ id: '9000_later', sql: 'create table later_table (id int)' }]);
    const [grants] = await sql`
      select has_table_privilege('pulse_reader', 'later_table', 'select') as reader_select,
             has_table_privilege('pulse_reader', 'later_table', 'insert') as reader_insert,
             has_table_privilege('pulse_app', 'later_table', 'insert') as app_insert,
             has_table_privilege('pulse_app', 'later_table', 'delete') as app_delete`;
    expect(grants).toEqual({
      reader_select: true,
      reader_insert: false,
      app_insert: true,
      app_delete: false,
    });
    await sql.end();
  });

  it('roll a failing migration back completely and name it', async () => {
    const sql = connect(serverUrl(name), { max: 1 });
    const broken = [{ id: '9999_broken', sql: 'create table half_done (id int); select 1 / 0;' }];
    await expect(runMigrations(sql, broken)).rejects.toThrow(
      /migration 9999_broken failed and was rolled back: division by zero/,
    );
    const [exists] = await sql`select to_regclass('half_done') as t`;
    expect(exists!.t).toBeNull();
    await sql.end();
  });
});

describe('importing actuals from CSV', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'pulse-import-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('imports good rows, reports bad ones, and a second import changes nothing', async () => {
    const path = file(
      'grid.csv',
      'ts_utc,load\n2025-01-01T00:00:00Z,100\n2025-01-01T01:00:00Z,-1\n2025-01-01T02:00:00Z,120\nbad,1\n',
    );
    const first = await importActuals(
      db.sql,
      path,
      { country: 'TR', timezone: 'Europe/Istanbul' },
      Date.UTC(2025, 0, 2),
    );
    expect(first).toMatchObject({ seriesName: 'grid', inserted: 2, revised: 0, unchanged: 0 });
    expect(first.parsed.problems.map((p) => p.line)).toEqual([3, 5]);
    const again = await importActuals(db.sql, path, {}, Date.UTC(2025, 0, 3));
    expect(again).toMatchObject({ inserted: 0, revised: 0, unchanged: 2 });
    const rows = await db.sql`select value, revision_count, last_received_at from actuals order by hour`;
    expect(rows.map((r) => [r.value, r.revision_count, (r.last_received_at as Date).toISOString()])).toEqual([
      [100, 0, '2025-01-02T00:00:00.000Z'],
      [120, 0, '2025-01-02T00:00:00.000Z'],
    ]);
    const [series] = await db.sql`select country, timezone from series where name = 'grid'`;
    expect(series).toEqual({ country: 'TR', timezone: 'Europe/Istanbul' });
  });

  it('keeps a changed value as a counted revision and never deletes stored hours', async () => {
    const path = file('grid.csv', 'ts_utc,load\n2025-01-01T02:00:00Z,125\n2025-01-01T03:00:00Z,130\n');
    const result = await importActuals(db.sql, path, {}, Date.UTC(2025, 0, 4));
    expect(result).toMatchObject({ inserted: 1, revised: 1, unchanged: 0 });
    const rows =
      await db.sql`select extract(hour from hour)::int as h, value, revision_count from actuals order by hour`;
    expect(rows.map((r) => [r.h, r.value, r.revision_count])).toEqual([
      [0, 100, 0],
      [2, 125, 1],
      [3, 130, 0],
    ]);
  });

  it('refuses an unreadable file or header with one clear error and stores nothing', async () => {
    await expect(importActuals(db.sql, join(dir, 'missing.csv'), {}, 0)).rejects.toThrow(
      /cannot read .*missing.csv: ENOENT/,
    );
    await expect(importActuals(db.sql, file('x.csv', 'when,load\n'), {}, 0)).rejects.toThrow(
      /x.csv:1: no "ts_utc" column/,
    );
    const [{ n }] = (await db.sql`select count(*)::int as n from actuals`) as unknown as [{ n: number }];
    expect(n).toBe(3);
  });
});

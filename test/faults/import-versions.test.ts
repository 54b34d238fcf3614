import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importActuals } from '../../src/cli/commands/import.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { InputError } from '../../src/core/errors.ts';
import { runPulse } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expectUnchanged, snapshotStore } from '../helpers/faults.ts';

const NOW = Date.UTC(2025, 5, 1, 12);
const csv = (rows: [string, number][]) =>
  ['ts_utc,value', ...rows.map(([t, v]) => `${t},${v}`)].join('\n') + '\n';

describe('actual versions and import undo (issue 15, defects 5–7 and 11)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'pulse-versions-'));
  });
  afterAll(async () => db.drop());

  const write = (name: string, text: string | Buffer) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const valuesOf = async (series: string) =>
    (
      await db.sql<{ hour: Date; value: number }[]>`
        select a.hour, a.value from actuals a join series s on s.id = a.series_id
        where s.name = ${series} order by a.hour`
    ).map((r) => [r.hour.toISOString(), r.value]);

  it('re-importing zeros over real data keeps the real values as versions, and --undo brings them back', async () => {
    const base = write(
      'base.csv',
      csv([
        ['2025-05-01T00:00:00Z', 30_000],
        ['2025-05-01T01:00:00Z', 29_000],
      ]),
    );
    const zeros = write(
      'zeros.csv',
      csv([
        ['2025-05-01T00:00:00Z', 0],
        ['2025-05-01T01:00:00Z', 0],
        ['2025-05-01T02:00:00Z', 0],
      ]),
    );
    const first = await importActuals(db.sql, base, { series: 'base' }, NOW);
    const second = await importActuals(db.sql, zeros, { series: 'base' }, NOW + 3_600_000);
    expect([second.inserted, second.revised]).toEqual([1, 2]);
    expect(await valuesOf('base')).toEqual([
      ['2025-05-01T00:00:00.000Z', 0],
      ['2025-05-01T01:00:00.000Z', 0],
      ['2025-05-01T02:00:00.000Z', 0],
    ]);
    // What did we know at NOW + 30 min, before the zeros arrived? The earlier versions answer it.
    const known = await db.sql<{ value: number }[]>`
      select v.value from actual_versions v join series s on s.id = v.series_id
      where s.name = 'base' and v.received_at <= ${new Date(NOW + 1_800_000)}
        and ${new Date(NOW + 1_800_000)} < v.superseded_at
      order by v.hour`;
    expect(known.map((r) => r.value)).toEqual([30_000, 29_000]);

    // The user's command, through the real CLI.
    const undo = await runPulse(['import', '--undo', String(second.importId)], {
      env: { DATABASE_URL: db.url },
    });
    expect(undo.stderr).toBe('');
    expect(undo.code).toBe(EXIT.ok);
    expect(undo.stdout).toMatch(/2 hours have their previous value again, 1 added hours removed/);
    expect(await valuesOf('base')).toEqual([
      ['2025-05-01T00:00:00.000Z', 30_000],
      ['2025-05-01T01:00:00.000Z', 29_000],
    ]);
    const [again] = await Promise.all([
      runPulse(['import', '--undo', String(second.importId)], { env: { DATABASE_URL: db.url } }),
    ]);
    expect(again.code).toBe(EXIT.input);
    expect(again.stderr).toMatch(/was already undone/);
    const [revisions] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from actual_versions where import_id = ${first.importId}`;
    expect(revisions!.n).toBe(0); // the restored values are current again, not versions
  });

  it('refuses to undo an import whose values were revised later, naming the later import', async () => {
    const a = write('a.csv', csv([['2025-05-02T00:00:00Z', 100]]));
    const b = write('b.csv', csv([['2025-05-02T00:00:00Z', 200]]));
    const first = await importActuals(db.sql, a, { series: 'layered' }, NOW);
    const second = await importActuals(db.sql, b, { series: 'layered' }, NOW + 1);
    const error = await importActuals(db.sql, a, { series: 'layered' }, NOW + 2).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeNull(); // importing a again is just another revision
    const { PostgresImportsStore } = await import('../../src/adapters/postgres/imports-store.ts');
    await expect(new PostgresImportsStore(db.sql).undo(first.importId, NOW + 3)).rejects.toThrow(
      /values of import \d+ were revised later \(by import \d+\); undo that import first/,
    );
    expect(second.importId).toBeGreaterThan(first.importId);
  });

  it('a file without one accepted line (all rejected, or header only) creates no series and stores nothing', async () => {
    const before = await snapshotStore(db.sql);
    const localTimes = write('localts.csv', 'ts_utc,value\n2025-01-01T00:00:00,1\n2025-01-01T01:00:00,2\n');
    const headerOnly = write('header.csv', 'ts_utc,value\n');
    for (const file of [localTimes, headerOnly]) {
      await expect(importActuals(db.sql, file, {}, NOW)).rejects.toThrow(
        /no line was accepted \(\d rejected\): nothing imported, no series created/,
      );
    }
    const series = await db.sql`select name from series where name in ('localts', 'header')`;
    expect(series).toHaveLength(0);
    expectUnchanged(before, await snapshotStore(db.sql));
    const cli = await runPulse(['import', localTimes], { env: { DATABASE_URL: db.url } });
    expect(cli.code).toBe(EXIT.input);
  });

  it('an invalid --timezone or --country is refused at import, naming the flag, and creates nothing', async () => {
    const file = write('mars.csv', csv([['2025-05-01T00:00:00Z', 1]]));
    await expect(
      importActuals(db.sql, file, { series: 'badtz', timezone: 'Mars/Olympus' }, NOW),
    ).rejects.toThrow('--timezone "Mars/Olympus" is not an IANA time zone');
    await expect(importActuals(db.sql, file, { series: 'badcc', country: 'ZZ' }, NOW)).rejects.toThrow(
      '--country "ZZ" has no holiday calendar',
    );
    expect(await db.sql`select 1 from series where name in ('badtz', 'badcc')`).toHaveLength(0);
  });

  it('--country/--timezone on an existing series are applied and said so; holidays are filled for its country', async () => {
    const file = write('pjme.csv', csv([['2025-05-01T00:00:00Z', 1]]));
    const created = await importActuals(db.sql, file, {}, NOW);
    expect(created.calendarChange).toBeNull();
    const [pjme] = await db.sql<{ timezone: string; country: string }[]>`
      select timezone, country from series where name = 'pjme'`;
    expect(pjme).toEqual({ timezone: 'America/New_York', country: 'US' }); // a known data set's calendar
    const changed = await importActuals(db.sql, file, { timezone: 'America/Chicago' }, NOW);
    expect(changed.calendarChange).toMatch(
      /series pjme: calendar America\/New_York, US → America\/Chicago, US; forecasts already stored stay as issued/,
    );
    const [holidays] = await db.sql<{ n: number; years: number[] }[]>`
      select count(*)::int as n, array_agg(distinct extract(year from starts_at)::int) as years
      from holidays where country = 'US'`;
    expect(holidays!.n).toBeGreaterThan(9);
    expect(holidays!.years).toEqual(expect.arrayContaining([2025, 2026]));
  });

  it('a binary file is one line naming the file, not a kilobyte of garbage', async () => {
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) % 256;
    const file = write('binary.csv', bytes);
    const error = await importActuals(db.sql, file, {}, NOW).catch((e: Error) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /binary\.csv:1: not a text CSV file \(binary content at character 1\)/,
    );
    expect((error as Error).message.length).toBeLessThan(200);
  });
});

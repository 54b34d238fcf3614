import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runPulse } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

// Issue 15, defect 1: `npm run pulse -- import /nonexistent.csv; echo $?` printed 0. Every command's failure
// path is run here through the real CLI in a child process (from a directory outside the project), in
// parallel, and its exit code checked against the class of its error.
describe('pulse exit codes', () => {
  let db: TestDatabase;
  let empty: TestDatabase; // stays without series while the other cases import
  let dir: string;
  const unreachable = { DATABASE_URL: 'postgres://pulse:x@127.0.0.1:1/pulse' };
  let env: Record<string, string>;
  beforeAll(async () => {
    [db, empty] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    env = { DATABASE_URL: db.url };
    dir = mkdtempSync(join(tmpdir(), 'pulse-exit-'));
    writeFileSync(join(dir, 'bad-header.csv'), 'time,value\n2025-01-01T00:00:00Z,1\n');
    writeFileSync(
      join(dir, 'one-bad-line.csv'),
      'ts_utc,value\n2025-01-01T00:00:00Z,100\n2025-01-01T01:00:00Z,-5\n',
    );
    mkdirSync(join(dir, 'models'));
    writeFileSync(join(dir, 'models', 'registry.json'), JSON.stringify({ default: 'corrupt' }));
    writeFileSync(join(dir, 'models', 'corrupt.json'), 'not json');
    const bytes = Buffer.alloc(2048);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) % 256;
    writeFileSync(join(dir, 'binary.csv'), bytes);
    // Two series in different time zones with three days of actuals, for the cases that need data.
    const rows = ['ts_utc,value'];
    for (let h = 0; h < 72; h++) rows.push(`${new Date(Date.UTC(2025, 0, 1, h)).toISOString()},${1000 + h}`);
    writeFileSync(join(dir, 'seed.csv'), rows.join('\n'));
    const { importActuals } = await import('../../src/cli/commands/import.ts');
    const now = Date.UTC(2025, 0, 4);
    await importActuals(
      db.sql,
      join(dir, 'seed.csv'),
      { series: 'seeded', timezone: 'Europe/Istanbul' },
      now,
    );
    await importActuals(
      db.sql,
      join(dir, 'seed.csv'),
      { series: 'seeded-ny', timezone: 'America/New_York' },
      now,
    );
  });
  afterAll(async () => Promise.all([db.drop(), empty.drop()]));

  const cases: { name: string; args: () => string[]; env?: () => Record<string, string>; code: number }[] = [
    { name: 'an unknown command', args: () => ['nosuch'], code: EXIT.input },
    { name: 'a missing required flag', args: () => ['backfill', '--from', '2025-01-01'], code: EXIT.input },
    { name: 'import of a missing file', args: () => ['import', '/nonexistent.csv'], code: EXIT.input },
    { name: 'import of a bad header', args: () => ['import', join(dir, 'bad-header.csv')], code: EXIT.input },
    {
      name: 'import with a rejected line',
      args: () => ['import', join(dir, 'one-bad-line.csv')],
      code: EXIT.failure,
    },
    {
      name: 'import, database unreachable',
      args: () => ['import', join(dir, 'one-bad-line.csv')],
      env: () => unreachable,
      code: EXIT.database,
    },
    {
      name: 'forecast, database unreachable',
      args: () => ['forecast'],
      env: () => unreachable,
      code: EXIT.database,
    },
    { name: 'forecast --at garbage', args: () => ['forecast', '--at', 'yesterday'], code: EXIT.input },
    {
      name: 'backfill --from after --to',
      args: () => ['backfill', '--from', '2025-02-01T00:00:00Z', '--to', '2025-01-01T00:00:00Z'],
      code: EXIT.input,
    },
    { name: 'evaluate --since garbage', args: () => ['evaluate', '--since', 'soon'], code: EXIT.input },
    {
      name: 'evaluate, database unreachable',
      args: () => ['evaluate'],
      env: () => unreachable,
      code: EXIT.database,
    },
    { name: 'metrics --from garbage', args: () => ['metrics', '--from', 'x'], code: EXIT.input },
    {
      name: 'metrics, database unreachable',
      args: () => ['metrics'],
      env: () => unreachable,
      code: EXIT.database,
    },
    {
      name: 'backtest of a missing file',
      args: () => [
        'backtest',
        '--csv',
        '/nonexistent.csv',
        '--from',
        '2025-01-01',
        '--to',
        '2025-01-02',
        '--model',
        'persistence',
      ],
      code: EXIT.input,
    },
    {
      name: 'report of an empty database',
      args: () => ['report'],
      env: () => ({ DATABASE_URL: empty.url }),
      code: EXIT.input,
    },
    {
      name: 'report, database unreachable',
      args: () => ['report'],
      env: () => unreachable,
      code: EXIT.database,
    },
    { name: 'demo --days x', args: () => ['demo', '--days', 'x'], code: EXIT.input },
    // Issue 15, defect 8: wrong input that was accepted. Each is one line naming the flag and the value.
    { name: 'forecast --series nosuch', args: () => ['forecast', '--series', 'nosuch'], code: EXIT.input },
    {
      name: 'forecast --at 2025-02-30T00:00:00Z',
      args: () => ['forecast', '--at', '2025-02-30T00:00:00Z'],
      code: EXIT.input,
    },
    {
      name: 'backfill of 2010, before the data starts',
      args: () => ['backfill', '--from', '2010-01-01', '--to', '2010-12-31', '--series', 'seeded'],
      code: EXIT.input,
    },
    {
      name: 'metrics --horizons "1;drop table actuals"',
      args: () => ['metrics', '--horizons', '1;drop table actuals'],
      code: EXIT.input,
    },
    {
      name: 'metrics --from after --to',
      args: () => ['metrics', '--series', 'seeded', '--from', '2025-03-01', '--to', '2025-02-01'],
      code: EXIT.input,
    },
    {
      name: 'metrics --from DATE over series in two time zones',
      args: () => ['metrics', '--from', '2025-01-01'],
      code: EXIT.input,
    },
    {
      name: 'report --model nosuchmodel',
      args: () => ['report', '--series', 'seeded', '--model', 'nosuchmodel'],
      code: EXIT.input,
    },
    { name: 'import of a binary file', args: () => ['import', join(dir, 'binary.csv')], code: EXIT.input },
    {
      name: 'import --timezone Mars/Olympus',
      args: () => ['import', join(dir, 'seed.csv'), '--series', 'mars', '--timezone', 'Mars/Olympus'],
      code: EXIT.input,
    },
    { name: 'import --undo of no import', args: () => ['import', '--undo', '999999'], code: EXIT.input },
    {
      name: 'evaluate --until without --since',
      args: () => ['evaluate', '--until', '2025-01-02'],
      code: EXIT.input,
    },
    {
      name: 'report --png without Chromium',
      args: () => ['report', '--series', 'seeded', '--out', join(dir, 'r.html'), '--png', join(dir, 'r.png')],
      env: () => ({ DATABASE_URL: db.url, CHROMIUM_PATH: '/nonexistent/chromium' }),
      code: EXIT.configuration,
    },
    {
      name: 'forecast with a corrupt model',
      args: () => ['forecast', '--series', 'seeded'],
      env: () => ({ DATABASE_URL: db.url, MODEL_DIR: join(dir, 'models') }),
      code: EXIT.model,
    },
    { name: 'demo of a missing file', args: () => ['demo', '--csv', '/nonexistent.csv'], code: EXIT.input },
    {
      name: 'db migrate, database unreachable',
      args: () => ['db', 'migrate'],
      env: () => unreachable,
      code: EXIT.database,
    },
    {
      name: 'db start, database unreachable',
      args: () => ['db', 'start'],
      env: () => unreachable,
      code: EXIT.database,
    },
    {
      name: 'serve, database unreachable',
      args: () => ['serve'],
      env: () => unreachable,
      code: EXIT.database,
    },
  ];

  it.concurrent.each(cases)('$name exits $code', async ({ args, env: caseEnv, code }) => {
    const result = await runPulse(args(), { env: caseEnv?.() ?? env });
    expect(result.stderr.length, result.stderr).toBeLessThan(code === EXIT.input ? 2_000 : 20_000);
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code });
    expect(result.stderr.trim().split('\n')[0]).toMatch(/^(pulse: |error: |.*:\d+: )/); // one line says why
  });

  it('a successful command exits 0', async () => {
    const result = await runPulse(['db', 'migrate'], { env });
    expect(result).toMatchObject({ code: EXIT.ok, stdout: 'schema is up to date\n' });
  });
});

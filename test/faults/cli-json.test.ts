import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { emitLine, setOutputMode } from '../../src/cli/context.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { buildProgram, commandPath, subcommands } from '../../src/cli/program.ts';
import { InputError } from '../../src/core/errors.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { runPulse } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** The one shape every command prints with --json (README, "Scripting"). */
interface Envelope {
  readonly ok: boolean;
  readonly command: string;
  readonly exitCode: number;
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly name: string; readonly message: string };
}

// Issue 15, "--json output on every command for scripts": stdout is one JSON object of one shape, and a
// failure still exits with its error class's code.
describe('pulse --json', () => {
  it('is an option of every command', () => {
    const missing = subcommands(buildProgram())
      .filter((c) => !c.options.some((o) => o.long === '--json'))
      .map(commandPath);
    expect(missing).toEqual([]);
    expect(subcommands(buildProgram()).map(commandPath)).toEqual(
      expect.arrayContaining(['db start', 'db stop', 'demo', 'report', 'serve', 'models', 'models promote']),
    );
  });

  it('serve --json writes one object per job run and line, failures with their exit code', () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      setOutputMode(true, 'serve');
      emitLine('forecast', '2025-01-01T00:07:00.000Z', { result: { seriesCount: 2 } });
      emitLine('ingest', '2025-01-01T01:02:00.000Z', { error: new InputError('series "x": bad') });
    } finally {
      setOutputMode(false, '');
      write.mockRestore();
    }
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        ok: true,
        command: 'serve',
        exitCode: 0,
        job: 'forecast',
        at: '2025-01-01T00:07:00.000Z',
        result: { seriesCount: 2 },
      },
      {
        ok: false,
        command: 'serve',
        exitCode: EXIT.input,
        job: 'ingest',
        at: '2025-01-01T01:02:00.000Z',
        error: { name: 'InputError', message: 'series "x": bad' },
      },
    ]);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  });

  describe('through the real CLI', () => {
    let db: TestDatabase;
    let dir: string;
    let env: Record<string, string>;
    const end = Date.UTC(2025, 2, 31, 23);
    beforeAll(async () => {
      db = await createTestDatabase();
      env = { DATABASE_URL: db.url };
      dir = mkdtempSync(join(tmpdir(), 'pulse-json-'));
      const rows = generateSyntheticSeries({ from: end - 40 * 24 * HOUR_MS, to: end, seed: 5 });
      writeFileSync(
        join(dir, 'load.csv'),
        ['ts_utc,load_mwh', ...rows.map((r) => `${toIso(r.hour)},${r.value}`)].join('\n') + '\n',
      );
      writeFileSync(
        join(dir, 'weather.csv'),
        'ts_utc,ankara_t2m\n2025-01-01T00:00:00Z,-2.5\n2025-01-01T01:00:00Z,-3.0\n',
      );
      writeFileSync(join(dir, 'locations.csv'), 'location,latitude,longitude,weight\nankara,39.93,32.86,1\n');
      // The commands below that read data need the series first.
      const imported = await runPulse(
        [
          'import',
          join(dir, 'load.csv'),
          '--series',
          'tr',
          '--country',
          'TR',
          '--timezone',
          'Europe/Istanbul',
        ],
        { env },
      );
      expect(imported.code).toBe(EXIT.ok);
      // A series without actuals, first by name: `report` without --series passes over it.
      await db.sql`insert into series (name, timezone) values ('aaa-empty', 'UTC')`;
    }, 120_000);
    afterAll(async () => db.drop());

    const at = '2025-04-01T00:07:00Z';
    // Each case: the arguments, the exit code, and what the object's result or error must hold.
    const cases: { args: () => string[]; code: number; holds: (e: Envelope) => void }[] = [
      {
        args: () => ['db', 'start'],
        code: 0,
        holds: (e) => expect(e.result).toMatchObject({ running: true }),
      },
      { args: () => ['db', 'migrate'], code: 0, holds: (e) => expect(e.result).toEqual({ applied: [] }) },
      {
        args: () => ['db', 'status'],
        code: 0,
        holds: (e) =>
          expect(e.result).toMatchObject({ databaseUrlSet: true, url: expect.stringContaining('***') }),
      },
      {
        args: () => ['import', join(dir, 'load.csv'), '--series', 'tr'],
        code: 0,
        holds: (e) =>
          expect(e.result).toMatchObject({ seriesName: 'tr', inserted: 0, unchanged: 961, rejected: 0 }),
      },
      {
        args: () => ['import', '--list'],
        code: 0,
        holds: (e) => expect((e.result!.imports as unknown[]).length).toBeGreaterThanOrEqual(1),
      },
      {
        args: () => ['import-weather', join(dir, 'weather.csv'), '--locations', join(dir, 'locations.csv')],
        code: 0,
        holds: (e) => expect(e.result).toMatchObject({ locations: 1, inserted: 2, rejected: 0 }),
      },
      {
        args: () => ['forecast', '--at', at, '--series', 'tr'],
        code: 0,
        holds: (e) => expect(e.result).toMatchObject({ seriesCount: 1, forecastsWritten: 24 }),
      },
      {
        args: () => [
          'backfill',
          '--from',
          '2025-03-30T00:00:00Z',
          '--to',
          '2025-03-30T23:00:00Z',
          '--series',
          'tr',
        ],
        code: 0,
        holds: (e) => expect(e.result).toMatchObject({ forecastsWritten: 24 * 24, failedOrigins: 0 }),
      },
      {
        args: () => ['evaluate', '--at', at],
        code: 0,
        holds: (e) => expect(e.result).toHaveProperty('scored'),
      },
      {
        args: () => ['metrics'],
        code: 0,
        holds: (e) => expect(Array.isArray(e.result!.rows)).toBe(true),
      },
      { args: () => ['models'], code: 0, holds: (e) => expect(e.result).toEqual({ models: [] }) },
      {
        args: () => ['report', '--series', 'tr', '--out', join(dir, 'report.html')],
        code: 0,
        holds: (e) => expect(e.result).toEqual({ report: join(dir, 'report.html'), png: null }),
      },
      {
        args: () => ['report', '--out', join(dir, 'default.html')],
        code: 0,
        holds: (e) => expect(e.result).toEqual({ report: join(dir, 'default.html'), png: null }),
      },
      {
        args: () => ['report', '--series', 'aaa-empty'],
        code: EXIT.input,
        holds: (e) => expect(e.error!.message).toMatch(/^series "aaa-empty" has no actuals yet/),
      },
      {
        args: () => [
          'backtest',
          '--csv',
          join(dir, 'load.csv'),
          '--from',
          '2025-03-25',
          '--to',
          '2025-03-26',
          '--model',
          'persistence',
        ],
        code: 0,
        holds: (e) => expect(e.result).toMatchObject({ file: null, summary: { h1: expect.any(Object) } }),
      },
      // Failures: the error class's name and message, with its exit code.
      {
        args: () => ['import', '/nonexistent.csv'],
        code: EXIT.input,
        holds: (e) =>
          expect(e.error).toEqual({ name: 'InputError', message: 'cannot read /nonexistent.csv: ENOENT' }),
      },
      {
        args: () => ['forecast', '--at', '2025-02-30T00:00:00Z'],
        code: EXIT.input,
        holds: (e) => expect(e.error!.name).toBe('InputError'),
      },
      { args: () => ['nosuch'], code: EXIT.input, holds: (e) => expect(e.error!.name).toBe('UsageError') },
      {
        args: () => ['demo', '--csv', join(dir, 'weather.csv')],
        code: EXIT.input,
        holds: (e) => expect(e.error!.message).toMatch(/the demo needs at least \d+ days of hourly data/),
      },
      {
        args: () => ['serve', '--retrain-day', '99'],
        code: EXIT.input,
        holds: (e) => expect(e.error!.message).toMatch(/--retrain-day/),
      },
      { args: () => ['train'], code: EXIT.input, holds: (e) => expect(e.error!.message).toMatch(/--series/) },
      {
        args: () => ['retrain', '--backtest-days', '3'],
        code: EXIT.input,
        holds: (e) => expect(e.error!.message).toMatch(/--backtest-days/),
      },
      {
        args: () => ['models', 'promote', 'v1', '--series', 'nosuch'],
        code: EXIT.input,
        holds: (e) => expect(e.error!.message).toMatch(/nosuch/),
      },
    ];

    it.concurrent.each(cases.map((c, i) => [i + 1, c] as const))(
      'case %i: stdout is one object of the shape, with the exit code',
      async (_name, c) => {
        const args = [...c.args(), '--json'];
        const run = await runPulse(args, { env });
        let parsed: Envelope;
        try {
          parsed = JSON.parse(run.stdout) as Envelope;
        } catch {
          throw new Error(
            `stdout of "pulse ${args.join(' ')}" is not one JSON object:\n${run.stdout}\n${run.stderr}`,
          );
        }
        expect(run.code, run.stderr).toBe(c.code);
        expect(parsed).toMatchObject({ ok: c.code === 0, exitCode: c.code });
        expect(Object.keys(parsed).sort()).toEqual(
          ['ok', 'command', 'exitCode', c.code === 0 ? 'result' : 'error'].sort(),
        );
        c.holds(parsed);
      },
      120_000,
    );
  });
});

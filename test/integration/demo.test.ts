import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('pulse demo', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(); // the demo creates its own pulse_demo database on this server
  });
  afterAll(async () => db.drop());

  it('backfills, replays hours through the handlers and prints a metrics table; --json prints one object', async () => {
    const { runDemo } = await import('../../src/cli/commands/demo.ts');
    const { setOutputMode } = await import('../../src/cli/context.ts');
    const out = join(mkdtempSync(join(tmpdir(), 'pulse-demo-')), 'report.html');
    const stdout: string[] = [];
    const stderr: string[] = [];
    const capture = (stream: NodeJS.WriteStream, into: string[]) =>
      vi.spyOn(stream, 'write').mockImplementation((chunk) => (into.push(String(chunk)), true));
    const spies = [capture(process.stdout, stdout), capture(process.stderr, stderr)];
    let result: Awaited<ReturnType<typeof runDemo>>;
    try {
      setOutputMode(true, 'demo'); // as `pulse demo --json`: the human lines on stderr, one object on stdout
      result = await runDemo({ databaseUrl: db.url, days: 1, backfillDays: 20, delayHours: 1, report: out });
    } finally {
      setOutputMode(false, '');
      for (const spy of spies) spy.mockRestore();
    }
    const text = stderr.join('');
    expect(text).toMatch(/loaded \d+ hours of synthetic/);
    expect(text).toMatch(/backfilled .* 11520 forecasts/); // 20 days × 24 origins × 24 horizons
    const printed = JSON.parse(stdout.join(''));
    expect(printed).toMatchObject({
      ok: true,
      command: 'demo',
      exitCode: 0,
      result: {
        series: 'synthetic',
        backfill: { forecastsWritten: 11520 },
        replay: { hours: 25, msPerHour: { forecast: expect.any(Number) } },
        table: result.table,
      },
    });
    const table = result.table.split('\n');
    expect(table[0]).toMatch(/^series\s+model\s+horizon\s+n\s+MAE\s+RMSE\s+MAPE %\s+bias\s+skill/);
    const allRow = table.find((l) => /^synthetic\s+\S+\s+all\s/.test(l))!;
    const mape = Number(allRow.trim().split(/\s+/)[6]);
    expect(mape).toBeGreaterThan(0.1);
    expect(mape).toBeLessThan(10);
    expect(printed.result.metrics.find((r: { horizon: number }) => r.horizon === 0).mape).toBeCloseTo(
      mape,
      2,
    );
    if (result.reportPath) expect(existsSync(result.reportPath)).toBe(true);
  });
});

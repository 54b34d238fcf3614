import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('pulse demo', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(); // the demo creates its own pulse_demo database on this server
  });
  afterAll(async () => db.drop());

  it('backfills, replays hours through the handlers and prints a metrics table', async () => {
    const { runDemo } = await import('../../src/cli/commands/demo.ts');
    const out = join(mkdtempSync(join(tmpdir(), 'pulse-demo-')), 'report.html');
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (
      lines.push(String(chunk)),
      true
    )) as typeof process.stdout.write;
    let result: Awaited<ReturnType<typeof runDemo>>;
    try {
      result = await runDemo({ databaseUrl: db.url, days: 1, backfillDays: 20, delayHours: 1, report: out });
    } finally {
      process.stdout.write = write;
    }
    const text = lines.join('');
    expect(text).toMatch(/loaded \d+ hours of synthetic/);
    expect(text).toMatch(/backfilled .* 11520 forecasts/); // 20 days × 24 origins × 24 horizons
    const table = result.table.split('\n');
    expect(table[0]).toMatch(/^series\s+model\s+horizon\s+n\s+MAE\s+RMSE\s+MAPE %\s+bias\s+skill/);
    const allRow = table.find((l) => /^synthetic\s+\S+\s+all\s/.test(l))!;
    const mape = Number(allRow.trim().split(/\s+/)[6]);
    expect(mape).toBeGreaterThan(0.1);
    expect(mape).toBeLessThan(10);
    if (result.reportPath) expect(existsSync(result.reportPath)).toBe(true);
  });
});

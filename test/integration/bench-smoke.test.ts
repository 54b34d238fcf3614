import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..', '..');

interface Results {
  mode: string;
  sections: { id: string; figures: { id: string; value: number | null; status: string; note?: string }[] }[];
  summary: { pass: number; miss: number };
}

// The smoke subset of `npm run bench`: it must complete and write well-formed results. No timing
// assertions here (speed is judged by the full bench, not by tests).
describe('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'pulse-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every section and writes results.json and results.md to the given folder', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        join(repoRoot, 'node_modules/tsx/dist/cli.mjs'),
        'bench/run.ts',
        '--quick',
        '--out',
        out,
        '--database-url',
        inject('databaseUrl'),
      ],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 },
    );
    expect(stdout).toContain('[bench]');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(results.mode).toBe('quick');
    const ids = results.sections.map((s) => s.id);
    expect(ids).toEqual([
      'sizes',
      'inference',
      'hourly',
      'rollups',
      'scale',
      'storage',
      'backfill',
      'evaluation',
      'coldStart',
      'modelCache',
      'retraining',
      'cost',
    ]);
    const figures = new Map(results.sections.flatMap((s) => s.figures).map((f) => [f.id, f]));
    // A failed section is recorded as one skipped figure named after it; none may have failed.
    for (const id of ids) expect(figures.get(id)?.note ?? '').not.toMatch(/^failed/);
    // The pipeline ran and counted its round trips: a constant handful, whatever the series count.
    expect(figures.get('hourly.forecast.1')?.value).toBeGreaterThan(0);
    expect(figures.get('hourly.forecast.1.queries')?.value).toBe(
      figures.get('hourly.forecast.10.queries')?.value,
    );
    expect(figures.get('hourly.forecast.10.queries')?.value).toBeLessThanOrEqual(6);
    // The row-at-a-time yardsticks produced the same rows as the set-based code.
    expect(figures.get('backfill.naive')?.note).toContain('same rows as the set-based run: yes');
    expect(figures.get('evaluation.naive')?.note).toContain('same evaluations as set-based: yes');
    expect(figures.get('size.runtimeLayer.unzipped')?.value).toBeGreaterThan(1);
    expect(figures.get('cost.1')?.value).toBeGreaterThan(0);
    // Every series forecast by its own model (the section throws otherwise), and the cycle priced.
    expect(figures.get('modelCache.10.first')?.value).toBeGreaterThan(0);
    expect(figures.get('retraining.cost')?.value).toBeGreaterThan(0);
    for (const f of figures.values()) expect(['pass', 'miss', 'info', 'skipped']).toContain(f.status);
    const markdown = readFileSync(join(out, 'results.md'), 'utf8');
    expect(markdown).toContain('| Figure | Measured | Spread | Target | Status | Note |');
    expect(markdown).toContain('Warm hourly forecast run, 1 series');
  }, 300_000);
});

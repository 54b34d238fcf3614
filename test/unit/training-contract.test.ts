import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quantileLayout } from '../../src/adapters/onnx/metadata.ts';
import {
  CONTRACT_SCHEMA_PATH,
  contractJsonSchema,
  TrainingManifestSchema,
} from '../../src/adapters/training/contract.ts';
import { exportDataset } from '../../src/adapters/training/dataset-export.ts';
import { DEFAULT_RECIPE, TrainingRecipeSchema } from '../../src/adapters/training/recipe.ts';
import { dayOfIso } from '../../src/core/calendar/localTime.ts';
import { CALENDAR_FEATURES } from '../../src/core/features.ts';
import { toHourlySeries } from '../../src/core/hourly-series.ts';
import { generateSyntheticSeries, SYNTHETIC_CALENDAR } from '../../src/core/synthetic.ts';

const PYTHON = '/usr/bin/python3';
const hasPython = spawnSync(PYTHON, ['--version'], { stdio: 'ignore' }).status === 0;

function python(args: string[]): { status: number | null; out: string } {
  const run = spawnSync(PYTHON, args, { cwd: 'training', encoding: 'utf8' });
  return { status: run.status, out: run.stdout + run.stderr };
}

describe('training contract (TypeScript ↔ training/train.py)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-contract-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('has a schema file generated from the zod schemas (npm run training:contract)', () => {
    const committed = JSON.parse(readFileSync(CONTRACT_SCHEMA_PATH, 'utf8')) as unknown;
    expect(committed).toEqual(contractJsonSchema());
  });

  it.runIf(hasPython)('the trainer reads every manifest key the schema declares, and no other', () => {
    const run = python(['test_contract.py']);
    expect(run.out).toMatch(/2 files agree/);
    expect(run.status).toBe(0);
  });

  it.runIf(hasPython)('fails when the trainer reads a key TypeScript does not write', () => {
    const bad = join(scratch, 'bad_trainer.py');
    writeFileSync(bad, 'def f(m):\n    return m["hyper"]["fp16Weights"], m["train"]["weight"]\n');
    const run = python(['test_contract.py', 'train.py', 'model.py', bad]);
    expect(run.status).toBe(1);
    expect(run.out).toContain('bad_trainer.py:2: reads manifest key "fp16Weights"');
    expect(run.out).toContain('reads optional manifest key "weight" without .get()');
  });

  it.runIf(hasPython)('fails when the schema declares a key the trainer never reads', () => {
    // A trainer that only reads half the manifest: everything else TypeScript writes would be ignored.
    const partial = join(scratch, 'partial.py');
    writeFileSync(partial, 'def f(m):\n    report = {}\n    return m["version"]\n');
    const run = python(['test_contract.py', partial]);
    expect(run.status).toBe(1);
    expect(run.out).toContain('the contract declares manifest key "hyper" but the trainer never reads it');
    expect(run.out).toContain('report key report.seconds is required by the contract but not written');
  });

  it.runIf(hasPython)(
    'exports a manifest both sides accept, with tensors of the declared sizes',
    async () => {
      const from = Date.UTC(2025, 0, 1);
      const rows = generateSyntheticSeries({ from, to: from + 60 * 24 * 3_600_000, seed: 3 });
      const recipe = { ...DEFAULT_RECIPE, windowHours: 168, validationDays: 10, halfLifeYears: 1 };
      const dir = join(scratch, 'dataset');
      const exported = await exportDataset({
        series: toHourlySeries(rows),
        calendar: SYNTHETIC_CALENDAR,
        recipe,
        version: 'contract-test',
        untilDay: dayOfIso('2025-02-20'),
        dir,
      });
      const m = exported.manifest;
      expect(m.quantiles).toEqual([0.1, 0.5, 0.9]);
      expect(m.inputs).toEqual([
        { name: 'history', width: 168, role: 'history' },
        { name: 'calendar', width: CALENDAR_FEATURES, role: 'covariates' },
      ]);
      // Validation: the last 10 local days up to 2025-02-20 (Istanbul, UTC+3); training ends before.
      expect(exported.split.validationSpan).toEqual({
        from: '2025-02-10T21:00:00Z',
        to: '2025-02-20T20:00:00Z',
      });
      expect(m.val.n).toBe(exported.split.validation.length);
      expect(statSync(join(dir, m.train.inputs.history!)).size).toBe(m.train.n * 168 * 4);
      expect(statSync(join(dir, m.train.inputs.calendar!)).size).toBe(m.train.n * CALENDAR_FEATURES * 4);
      expect(statSync(join(dir, m.train.target)).size).toBe(m.train.n * 24 * 4);
      expect(statSync(join(dir, m.train.weight!)).size).toBe(m.train.n * 4);

      const ok = python([
        '-c',
        `import contract; contract.load_manifest(${JSON.stringify(exported.manifestPath)})`,
      ]);
      expect(ok.out).toBe('');
      expect(ok.status).toBe(0);

      // A key outside the contract is refused by both sides, naming it.
      const extra = { ...m, hyper: { ...m.hyper, fp16Weights: true } };
      expect(TrainingManifestSchema.safeParse(extra).success).toBe(false);
      const extraPath = join(scratch, 'extra.json');
      writeFileSync(extraPath, JSON.stringify(extra));
      const refused = python(['-c', `import contract; contract.load_manifest(${JSON.stringify(extraPath)})`]);
      expect(refused.status).toBe(1);
      expect(refused.out).toContain('manifest.hyper.fp16Weights: not in the contract');
    },
  );

  it('keeps the quantile order in the metadata: the median is found, not assumed central', () => {
    expect(quantileLayout([0.1, 0.5, 0.9])).toEqual({ lower: 0, median: 1, upper: 2 });
    expect(quantileLayout([0.05, 0.1, 0.5, 0.9])).toEqual({ lower: 0, median: 2, upper: 3 });
    expect(() => quantileLayout([0.1, 0.4, 0.9], 'model m')).toThrow(/model m: quantiles \[0.1, 0.4, 0.9\]/);
    expect(() => quantileLayout([0.9, 0.5, 0.1])).toThrow(/ascending/);
  });

  it('refuses a recipe outside its schema', () => {
    expect(TrainingRecipeSchema.safeParse({ ...DEFAULT_RECIPE, dropout: 1.5 }).success).toBe(false);
    expect(TrainingRecipeSchema.safeParse({ ...DEFAULT_RECIPE, windowHours: 24 }).success).toBe(false);
  });
});

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxForecaster } from '../../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata, ParitySamples } from '../../src/adapters/onnx/metadata.ts';

/** End-to-end `pulse train` on a tiny synthetic series: tensors → PyTorch → ONNX → backtest → metadata. */
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn('skipped Python training tests: run npm run setup:training to enable');

function syntheticCsv(hours: number): string {
  let state = 7;
  const rand = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const start = Date.parse('2025-01-01T00:00:00Z');
  const lines = ['ts_utc,load_mwh'];
  for (let t = 0; t < hours; t++) {
    const localHour = (t + 3) % 24;
    const weekday = (Math.floor((t + 3) / 24) + 2) % 7; // 2025-01-01 was a Wednesday
    const v =
      30_000 *
      (1 +
        0.12 * Math.sin((2 * Math.PI * (localHour - 9)) / 24) -
        (weekday >= 5 ? 0.08 : 0) +
        0.01 * (rand() - 0.5));
    lines.push(`${new Date(start + t * 3_600_000).toISOString().replace('.000Z', 'Z')},${v.toFixed(2)}`);
  }
  return lines.join('\n') + '\n';
}

describe.runIf(hasTorch)('training smoke test (synthetic series)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-train-'));
  const version = `smoke-synthetic-${process.pid}`;
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(resolve('training/out', version), { recursive: true, force: true });
  });

  it('trains, exports, scores and registers a model whose ONNX matches PyTorch', async () => {
    const csv = join(scratch, 'synthetic.csv');
    writeFileSync(csv, syntheticCsv(24 * 75));
    const modelDir = join(scratch, 'models');
    const args = [
      'tsx',
      'bin/pulse.ts',
      'train',
      '--csv',
      csv,
      '--series',
      'synthetic',
      '--country',
      'TR',
      '--timezone',
      'Europe/Istanbul',
    ];
    args.push(
      '--until',
      '2025-03-05',
      '--val-days',
      '10',
      '--window',
      '168',
      '--epochs',
      '2',
      '--members',
      '1',
      '--hidden',
      '32',
    );
    args.push('--version', version, '--model-dir', modelDir);
    const run = spawnSync('npx', args, { encoding: 'utf8', timeout: 240_000 });
    expect(run.stderr + run.stdout).toMatch(/epoch\s+2\/2/);
    expect(run.status).toBe(0);

    const meta = JSON.parse(readFileSync(join(modelDir, `${version}.json`), 'utf8')) as ModelMetadata;
    const onnx = readFileSync(join(modelDir, `${version}.onnx`));
    expect(meta.onnx.sha256).toBe(createHash('sha256').update(onnx).digest('hex'));
    expect(meta.validationSpan).toEqual({ from: '2025-02-23T21:00:00Z', to: '2025-03-05T20:00:00Z' });
    expect(meta.testSpan).toEqual({ from: '2025-03-05T21:00:00Z', to: '2025-03-16T23:00:00Z' });
    const metrics = meta.testMetrics as { h1: { n: number; mape: number } };
    expect(metrics.h1.n).toBe(267);
    expect(metrics.h1.mape).toBeLessThan(20);
    expect(JSON.parse(readFileSync(join(modelDir, 'registry.json'), 'utf8'))).toEqual({ default: version });

    const samples = JSON.parse(readFileSync(join(modelDir, meta.paritySamples), 'utf8')) as ParitySamples;
    const model = await loadOnnxForecaster(modelDir, version);
    const out = await model.run(
      Float32Array.from(samples.history),
      Float32Array.from(samples.calendar),
      samples.n,
    );
    for (let k = 0; k < out.length; k++) {
      expect(Math.abs(out[k]! - samples.forecast[k]!)).toBeLessThanOrEqual(
        1e-3 + 1e-6 * Math.abs(samples.forecast[k]!),
      );
    }
  });
});

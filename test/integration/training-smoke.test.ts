import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxForecaster } from '../../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata, ParitySamples } from '../../src/adapters/onnx/metadata.ts';
import { PostgresModelRegistry } from '../../src/adapters/postgres/model-registry.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { WEATHER_FEATURES, WEATHER_FEATURES_VERSION, weatherFeatureNames } from '../../src/core/features.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { DEFAULT_FORECAST_ERROR } from '../../src/core/weather.ts';
import { createTestDatabase } from '../helpers/db.ts';

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
      // Recent changes computed in the graph from the history: the exported graph must compute them too.
      '--changes',
      '3',
      // Early stopping armed from epoch 5, clamped to the last epoch: epoch 1 can never be the best.
      '--min-epochs',
      '5',
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
    const training = (
      meta as unknown as { training: { hyper: { changes: number }; members: { bestEpoch: number }[] } }
    ).training;
    expect(training.hyper.changes).toBe(3);
    expect(training.members.map((m) => m.bestEpoch)).toEqual([2]);

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

describe.runIf(hasTorch)('recent changes inside the graph (training/model.py)', () => {
  it('are the last hourly changes and those of the same target hours a day earlier, / newest value · 100', () => {
    // A 168 h history of 1000 MWh except: the newest hours 1000 → 1010 → 1030 (t−1, t), and one day
    // earlier the hours of targets t+1, t+2 rose by 20 and fell by 10 (t−23: 1020, t−22: 1010).
    const script = [
      'import sys, torch',
      "sys.path.insert(0, 'training')",
      'from model import PulseNet',
      'h = torch.full((1, 168), 1000.0)',
      'h[0, -2], h[0, -1] = 1010.0, 1030.0',
      'h[0, -24], h[0, -23] = 1020.0, 1010.0',
      'net = PulseNet(168, 5, 24, [0.1, 0.5, 0.9], hidden=8, changes=2)',
      'recent, day = net.recent_changes(h, h[:, -1:])',
      "print(' '.join(f'{v:.4f}' for v in recent[0].tolist() + day[0].tolist()))",
      'print(tuple(net(h, torch.zeros(1, 5)).shape))',
    ].join('\n');
    const run = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const [changes, shape] = run.stdout.trim().split('\n');
    // Recent: (1010 − 1000) / 1030 · 100, (1030 − 1010) / 1030 · 100; a day earlier: +20 and −10.
    expect(changes).toBe('0.9709 1.9417 1.9417 -0.9709');
    expect(shape).toBe('(1, 24, 3)');
  });
});

describe.runIf(hasTorch)('training smoke test from the database', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-train-db-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('trains a series read from PostgreSQL on its own calendar and registers a candidate', async () => {
    const db = await createTestDatabase();
    try {
      // A US series in Chicago time: the calendar must come from the series record, not from a flag.
      const stores = createPostgresStores(db.sql);
      const [series] = await stores.series.ensureSeries([
        { name: 'smoke-chicago', country: 'US', timezone: 'America/Chicago' },
      ]);
      const from = Date.parse('2025-01-01T06:00:00Z');
      const rows = generateSyntheticSeries({
        from,
        to: from + (24 * 60 - 1) * 3_600_000,
        level: 11_000,
        calendar: { country: 'US', timezone: 'America/Chicago' },
        seed: 5,
      });
      await stores.actuals.upsertActuals(series!.id, rows, Date.parse('2025-03-02T07:00:00Z'));
      const store = join(scratch, 'store');
      const run = spawnSync(
        'npx',
        [
          'tsx',
          'bin/pulse.ts',
          'train',
          '--series',
          'smoke-chicago',
          '--store',
          store,
          '--val-days',
          '7',
          '--window',
          '168',
          '--epochs',
          '2',
          '--members',
          '1',
          '--hidden',
          '32',
          '--version',
          `smoke-db-${process.pid}`,
          '--json',
        ],
        { encoding: 'utf8', timeout: 240_000, env: { ...process.env, DATABASE_URL: db.url } },
      );
      expect(run.status).toBe(0);
      // --json: stdout is one JSON object, the trainer's epoch lines went to stderr with the others.
      expect(run.stderr).toMatch(/epoch\s+2\/2/);
      expect(JSON.parse(run.stdout)).toMatchObject({
        ok: true,
        result: { version: `smoke-db-${process.pid}`, series: 'smoke-chicago', status: 'candidate' },
      });

      const [model] = await new PostgresModelRegistry(db.sql).listModels(series!.id);
      expect(model).toMatchObject({ version: `smoke-db-${process.pid}`, status: 'candidate' });
      expect(model!.dataFingerprint).toMatch(/^[0-9a-f]{64}$/);
      // Everything up to the last complete local day (1 March, Chicago) went into training + validation.
      expect(model!.trainingSpan!.to).toBe('2025-03-02T05:00:00.000Z');
      expect(model!.hyperParameters).toMatchObject({ windowHours: 168, epochs: 2, validationDays: 7 });
      const meta = JSON.parse(
        readFileSync(join(store, `smoke-db-${process.pid}.json`), 'utf8'),
      ) as ModelMetadata;
      expect(meta.calendar).toEqual({ country: 'US', timezone: 'America/Chicago' });
      expect(meta.series).toBe('smoke-chicago');
      expect(
        createHash('sha256')
          .update(readFileSync(join(store, meta.onnx.file)))
          .digest('hex'),
      ).toBe(model!.sha256);
      // Not served until promoted.
      const [assigned] = await db.sql`select model_version from series where id = ${series!.id}`;
      expect(assigned!.model_version).toBeNull();
    } finally {
      rmSync(resolve('training/out', `smoke-db-${process.pid}`), { recursive: true, force: true });
      await db.drop();
    }
  });
});

describe.runIf(hasTorch)('training smoke test of a weather model (synthetic series and weather)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-train-wx-'));
  const version = `smoke-weather-${process.pid}`;
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(resolve('training/out', version), { recursive: true, force: true });
  });

  it('trains with --weather: windows without weather dropped, the input declared, standardised and masked in the graph', async () => {
    const csv = join(scratch, 'synthetic.csv');
    writeFileSync(csv, syntheticCsv(24 * 75));
    // Weather starts 4 days after the load: the first windows have none and are left out.
    const weatherStart = Date.parse('2025-01-05T00:00:00Z');
    const lines = ['ts_utc,a_t2m,b_t2m'];
    for (let t = 0; t < 24 * 72; t++) {
      const ts = new Date(weatherStart + t * 3_600_000).toISOString().replace('.000Z', 'Z');
      const a = 8 + 6 * Math.sin((2 * Math.PI * (t - 12)) / 24) + t / 200;
      lines.push(`${ts},${a.toFixed(1)},${(a - 3).toFixed(1)}`);
    }
    writeFileSync(join(scratch, 'weather.csv'), lines.join('\n') + '\n');
    writeFileSync(
      join(scratch, 'locations.csv'),
      'location,latitude,longitude,weight\na,41.0,29.0,0.7\nb,39.9,32.9,0.3\n',
    );
    const modelDir = join(scratch, 'models');
    const run = spawnSync(
      'npx',
      [
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
        '--until',
        '2025-03-05',
        '--val-days',
        '10',
        '--window',
        '168',
        '--epochs',
        '1',
        '--members',
        '1',
        '--hidden',
        '32',
        '--weather',
        join(scratch, 'weather.csv'),
        '--weather-locations',
        join(scratch, 'locations.csv'),
        '--calendar-model',
        'pulse-mlp-turkey-2024',
        '--calendar-horizons',
        '1',
        '--version',
        version,
        '--model-dir',
        modelDir,
        '--no-default',
      ],
      { encoding: 'utf8', timeout: 240_000 },
    );
    expect(run.stderr + run.stdout).toMatch(/ONNX parity with PyTorch: \d+ values agree/);
    expect(run.status).toBe(0);

    const meta = JSON.parse(readFileSync(join(modelDir, `${version}.json`), 'utf8')) as ModelMetadata;
    expect(meta.inputs.map((i) => i.name)).toEqual(['history', 'calendar', 'weather']);
    expect(meta.inputs[2]!.columns).toEqual(weatherFeatureNames());
    expect(meta.weather).toMatchObject({
      featuresVersion: WEATHER_FEATURES_VERSION,
      locations: [
        { name: 'a', weight: 0.7 },
        { name: 'b', weight: 0.3 },
      ],
      trainingError: DEFAULT_FORECAST_ERROR,
      calendarModel: 'pulse-mlp-turkey-2024',
      calendarHorizons: 1,
      history: { from: meta.trainingSpan.from, masked: false },
    });
    // The first target with weather 168 h before its origin: 5 January + 7 days + 1 hour.
    expect(meta.trainingSpan.from).toBe('2025-01-12T01:00:00Z');

    const samples = JSON.parse(readFileSync(join(modelDir, meta.paritySamples), 'utf8')) as ParitySamples;
    expect(samples.weather).toHaveLength(samples.n * WEATHER_FEATURES);
    const model = await loadOnnxForecaster(modelDir, version);
    const history = Float32Array.from(samples.history);
    const calendar = Float32Array.from(samples.calendar);
    const out = await model.run(history, calendar, samples.n, Float32Array.from(samples.weather!));
    for (let k = 0; k < out.length; k++) {
      expect(Math.abs(out[k]! - samples.forecast[k]!)).toBeLessThanOrEqual(
        1e-3 + 1e-6 * Math.abs(samples.forecast[k]!),
      );
    }
    // Without the availability flag the graph zeroes the input: the temperatures no longer matter.
    const masked = (shift: number) =>
      Float32Array.from(samples.weather!, (v, i) => (i % WEATHER_FEATURES === 0 ? 0 : v + shift));
    const cold = await model.run(history, calendar, samples.n, masked(-20));
    const warm = await model.run(history, calendar, samples.n, masked(20));
    expect(Array.from(cold)).toEqual(Array.from(warm));
    expect(Array.from(cold)).not.toEqual(Array.from(out));
  });
});

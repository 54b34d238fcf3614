import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, truncate, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURES_VERSION } from '../../src/core/features.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import {
  caught,
  expectNothingLost,
  expectUnchanged,
  loadHandlers,
  runsOf,
  scheduledEvent,
  seedSeries,
  snapshotStore,
  AS_OF,
  HISTORY,
} from '../helpers/faults.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A model folder as training writes it (registry, metadata, ONNX file), with bytes of our choosing. */
async function writeModel(
  dir: string,
  version: string,
  onnx: Buffer | null,
  checksumOf: Buffer | null = onnx,
) {
  await writeFile(join(dir, 'registry.json'), JSON.stringify({ default: version }));
  const metadata = {
    version,
    createdAt: '2025-01-01T00:00:00Z',
    featuresVersion: FEATURES_VERSION,
    onnx: {
      file: `${version}.onnx`,
      sha256: checksumOf ? sha256(checksumOf) : '0'.repeat(64),
      bytes: 1,
      opset: 17,
    },
    inputs: [
      { name: 'history', shape: ['batch', 168], type: 'float32', description: '' },
      { name: 'calendar', shape: ['batch', 8], type: 'float32', description: '' },
    ],
    output: { name: 'forecast', shape: ['batch', 24, 3], type: 'float32', description: '' },
    windowHours: 168,
    horizons: 24,
    quantiles: [0.1, 0.5, 0.9],
  };
  await writeFile(join(dir, `${version}.json`), JSON.stringify(metadata));
  if (onnx) await writeFile(join(dir, `${version}.onnx`), onnx);
}

describe('a missing, truncated or checksum-mismatched model file', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'grid' }, HISTORY);
    dir = await mkdtemp(join(tmpdir(), 'pulse-model-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  const garbage = randomBytes(4096);
  const cases = [
    {
      fault: 'no registry at all',
      prepare: async () => rm(join(dir, 'registry.json'), { force: true }),
      message:
        /^model registry .*registry\.json cannot be read \(ENOENT.*train a model with "npm run train" or fix the path$/,
    },
    {
      fault: 'the ONNX file is missing',
      prepare: () => writeModel(dir, 'fault-v1', null),
      message: /^model file .*fault-v1\.onnx for version fault-v1 cannot be read \(ENOENT/,
    },
    {
      fault: 'the ONNX file does not match the checksum in its metadata',
      prepare: () => writeModel(dir, 'fault-v1', garbage, randomBytes(4096)),
      message:
        /^model file .*fault-v1\.onnx has sha256 [0-9a-f]{64} but .*fault-v1\.json expects [0-9a-f]{64}; the file is corrupt/,
    },
    {
      fault: 'the ONNX file is truncated (checksum of the whole file)',
      prepare: () => writeModel(dir, 'fault-v1', garbage.subarray(0, 1000), garbage),
      message: /has sha256 [0-9a-f]{64} but .* expects [0-9a-f]{64}; the file is corrupt/,
    },
    {
      fault: 'the ONNX file is not a model although its checksum matches (metadata rewritten)',
      prepare: () => writeModel(dir, 'fault-v1', garbage.subarray(0, 1000)),
      message: /^model file .*fault-v1\.onnx cannot be loaded by onnxruntime: /,
    },
  ];

  it.each(cases)(
    '$fault: the run refuses with a ModelError naming the file; nothing stored changes',
    async ({ prepare, message }) => {
      await prepare();
      const handlers = loadHandlers({
        DATABASE_URL: db.url,
        MODEL_DIR: dir,
        PULSE_DEFAULT_MODEL: undefined,
      });
      try {
        const before = await snapshotStore(db.sql);
        const runs = await runsOf(db.sql);
        const error = await caught(() => handlers.forecast(scheduledEvent(AS_OF)));
        expect(error.name).toBe('ModelError');
        expect(error.message).toMatch(message);
        expectUnchanged(before, await snapshotStore(db.sql));
        expect(await runsOf(db.sql)).toEqual(runs); // refused before the run starts: Lambda's Errors alarm fires
      } finally {
        await handlers.resetDatabase();
      }
    },
  );

  it('recovery without a good file: the baseline as default model (PULSE_DEFAULT_MODEL) keeps forecasts coming', async () => {
    await writeModel(dir, 'fault-v1', garbage, randomBytes(16));
    const handlers = loadHandlers({
      DATABASE_URL: db.url,
      MODEL_DIR: dir,
      PULSE_DEFAULT_MODEL: 'seasonal-naive-168h',
    });
    const before = await snapshotStore(db.sql);
    expect(await handlers.forecast(scheduledEvent(AS_OF))).toMatchObject({
      okSeries: 1,
      forecastsWritten: 24,
    });
    expectNothingLost(before, await snapshotStore(db.sql));
    await handlers.resetDatabase();
  });

  it('a series assigned a corrupt model gets flagged fallbacks naming the fault; other series are unaffected', async () => {
    await writeModel(dir, 'fault-v2', garbage, randomBytes(16));
    await db.sql`insert into model_versions (version, kind, window_hours, horizons) values ('fault-v2', 'onnx', 168, 24)`;
    const { series } = await seedSeries(db.sql, { name: 'assigned', modelVersion: 'fault-v2' }, HISTORY);
    const handlers = loadHandlers({
      DATABASE_URL: db.url,
      MODEL_DIR: dir,
      PULSE_DEFAULT_MODEL: 'seasonal-naive-168h',
    });
    const before = await snapshotStore(db.sql);
    const summary = await handlers.forecast(scheduledEvent(AS_OF + 3_600_000));
    expect(summary).toMatchObject({ seriesCount: 2, okSeries: 1, fallbackSeries: 1 });
    const rows = await db.sql<{ quality: string; method: string; reason: string }[]>`
      select distinct quality, method, reason from predictions where series_id = ${series.id}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.quality).toBe('fallback');
    expect(rows[0]!.method).toBe('seasonal-naive-168h');
    expect(rows[0]!.reason).toMatch(
      /^model-error: model fault-v2 is unavailable: model file .*fault-v2\.onnx has sha256/,
    );
    expectNothingLost(before, await snapshotStore(db.sql));
    await handlers.resetDatabase();
  });
});

// The trained model is added by another change; these run as soon as model-artifacts holds one
// (a registry.json, or a <version>.json next to its ONNX file).
function trainedVersion(): string | undefined {
  const dir = 'model-artifacts';
  if (!existsSync(dir)) return undefined;
  if (existsSync(join(dir, 'registry.json')))
    return (JSON.parse(readFileSync(join(dir, 'registry.json'), 'utf8')) as { default: string }).default;
  return readdirSync(dir)
    .filter((f) => /^[^.]+(\.[^.]+)*\.json$/.test(f) && !f.endsWith('.parity.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .filter((v) => existsSync(join(dir, `${v}.onnx`)))
    .sort()
    .at(-1);
}
const trained = trainedVersion();
describe.skipIf(!trained)('the trained model in model-artifacts, corrupted in a copy', () => {
  let db: TestDatabase;
  let dir: string;
  let onnxPath: string;
  let original: Buffer;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'grid' }, HISTORY);
    dir = await mkdtemp(join(tmpdir(), 'pulse-model-'));
    await cp('model-artifacts', dir, { recursive: true });
    const version = trained!;
    await writeFile(join(dir, 'registry.json'), JSON.stringify({ default: version }));
    const meta = JSON.parse(await readFile(join(dir, `${version}.json`), 'utf8')) as {
      onnx: { file: string };
    };
    onnxPath = join(dir, meta.onnx.file);
    original = await readFile(onnxPath);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  it.each([
    { fault: 'missing', corrupt: () => unlink(onnxPath), message: /cannot be read \(ENOENT/ },
    {
      fault: 'truncated',
      corrupt: () => truncate(onnxPath, Math.floor(original.length / 2)),
      message: /has sha256 .* expects/,
    },
    {
      fault: 'one byte flipped',
      corrupt: async () => {
        const bytes = Buffer.from(original);
        const i = bytes.length >> 1;
        bytes[i] = bytes[i]! ^ 0xff;
        await writeFile(onnxPath, bytes);
      },
      message: /has sha256 .* expects/,
    },
  ])(
    '$fault: refused with a ModelError, nothing stored; restoring the file heals the same container',
    async ({ corrupt, message }) => {
      await corrupt();
      const handlers = loadHandlers({
        DATABASE_URL: db.url,
        MODEL_DIR: dir,
        PULSE_DEFAULT_MODEL: undefined,
      });
      const { clearOnnxForecasterCache } = await import('../../src/adapters/onnx/index.ts');
      clearOnnxForecasterCache();
      try {
        const before = await snapshotStore(db.sql);
        const error = await caught(() => handlers.forecast(scheduledEvent(AS_OF)));
        expect(error.name).toBe('ModelError');
        expect(error.message).toMatch(message);
        expectUnchanged(before, await snapshotStore(db.sql));
        await writeFile(onnxPath, original);
        const summary = (await handlers.forecast(scheduledEvent(AS_OF))) as {
          seriesCount: number;
          failures: unknown[];
        };
        expect(summary.seriesCount).toBe(1);
        expect(summary.failures).toEqual([]);
        expectNothingLost(before, await snapshotStore(db.sql));
        await db.sql`delete from forecasts`;
      } finally {
        await handlers.resetDatabase();
      }
    },
  );
});

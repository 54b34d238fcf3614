import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelStore } from '../../src/adapters/model-store/model-store.ts';
import { LocalModelStore } from '../../src/adapters/model-store/local-store.ts';
import { openModelStore } from '../../src/adapters/model-store/open.ts';
import { parseS3Uri, S3ModelStore } from '../../src/adapters/model-store/s3-store.ts';
import { clearOnnxForecasterCache, loadOnnxForecaster } from '../../src/adapters/onnx/forecaster.ts';
import { openModels } from '../../src/adapters/models.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { ModelError } from '../../src/core/errors.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runForecast } from '../../src/core/use-cases/run-forecast.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const SHIPPED = 'pulse-mlp-turkey-2024';

/** A store that cannot be read (S3 down, bucket policy, network): every fetch fails. */
class UnreadableStore implements ModelStore {
  readonly uri = 's3://pulse-models-test/models';
  fetches = 0;
  async publish(): Promise<string> {
    throw new ModelError('not used');
  }
  async fetch(version: string): Promise<string> {
    this.fetches++;
    throw new ModelError(`cannot read s3://pulse-models-test/models/${version}.json: AccessDenied`);
  }
}

/** Who forecast each series and how, as stored: one row per series, model, method, quality and reason. */
async function storedLabels(db: TestDatabase) {
  const rows = await db.sql<
    { name: string; model_version: string; method: string; quality: string; reason: string | null }[]
  >`
    select distinct s.name, p.model_version, p.method, p.quality, p.reason
    from predictions p join series s on s.id = p.series_id order by s.name`;
  return rows.map((r) => ({ ...r }));
}

describe('forecasting from the model store', () => {
  let db: TestDatabase;
  const from = Date.UTC(2025, 4, 1);
  const to = from + (21 * 24 - 1) * HOUR_MS;

  beforeAll(async () => {
    db = await createTestDatabase();
    const stores = createPostgresStores(db.sql);
    const series = await stores.series.ensureSeries([
      { name: 'own-model', country: 'TR', timezone: 'Europe/Istanbul' },
      { name: 'default-model', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    for (const [i, s] of series.entries()) {
      await stores.actuals.upsertActuals(
        s.id,
        generateSyntheticSeries({ from, to, seed: i + 1 }),
        to + HOUR_MS,
      );
    }
    // 'own-model' is assigned a version that only the store holds.
    await db.sql`insert into model_versions (version, kind, window_hours, horizons) values ('own-v1', 'onnx', 168, 24)`;
    await db.sql`update series set model_version = 'own-v1' where name = 'own-model'`;
  });
  afterAll(async () => db?.drop());

  it('serves the shipped default when the store is unreadable, labelled as a fallback; forecasts are still written', async () => {
    const store = new UnreadableStore();
    const stores = createPostgresStores(db.sql);
    const resolver = await openModels({ modelDir: 'model-artifacts' }, { store }).resolver(stores);
    const summary = await runForecast(stores, resolver, { asOf: to + HOUR_MS + 7 * 60_000, trigger: 'test' });
    expect(summary).toMatchObject({ seriesCount: 2, okSeries: 1, fallbackSeries: 1, forecastsWritten: 48 });
    expect(summary.fallbackReasons).toEqual({ 'model-unavailable': 1 });
    expect(await storedLabels(db)).toEqual([
      { name: 'default-model', model_version: SHIPPED, method: SHIPPED, quality: 'ok', reason: null },
      {
        name: 'own-model',
        model_version: 'own-v1',
        method: SHIPPED,
        quality: 'fallback',
        reason: `model-unavailable: model own-v1 cannot be read from the model store s3://pulse-models-test/models (cannot read s3://pulse-models-test/models/own-v1.json: AccessDenied); the default model ${SHIPPED} stands in`,
      },
    ]);
    // The stand-in forecast is the shipped model's own forecast of that window, not a baseline.
    const values = await db.sql<{ name: string; value: number }[]>`
      select s.name, p.value from predictions p join series s on s.id = p.series_id
      where p.horizon = 1 order by s.name`;
    expect(values[1]!.value).toBeGreaterThan(0);
    // The next run tries the store again (once), so a recovered store is picked up without a restart.
    const before = store.fetches;
    await runForecast(stores, resolver, { asOf: to + 2 * HOUR_MS + 7 * 60_000, trigger: 'test' });
    expect(store.fetches).toBe(before + 1);
  });
});

describe('more per-series models than the process may hold', () => {
  let db: TestDatabase;
  const storeDir = mkdtempSync(join(tmpdir(), 'pulse-model-cap-'));
  const from = Date.UTC(2025, 4, 1);
  const to = from + (21 * 24 - 1) * HOUR_MS;

  beforeAll(async () => {
    db = await createTestDatabase();
    const stores = createPostgresStores(db.sql);
    // Two versions only the store holds: copies of the shipped model under their own names.
    const meta = JSON.parse(readFileSync(`model-artifacts/${SHIPPED}.json`, 'utf8')) as Record<
      string,
      unknown
    >;
    for (const version of ['own-v1', 'own-v2']) {
      copyFileSync(`model-artifacts/${SHIPPED}.onnx`, join(storeDir, `${version}.onnx`));
      const onnx = { ...(meta.onnx as object), file: `${version}.onnx` };
      writeFileSync(join(storeDir, `${version}.json`), JSON.stringify({ ...meta, version, onnx }));
    }
    const series = await stores.series.ensureSeries(
      ['first', 'second', 'third'].map((name) => ({ name, country: 'TR', timezone: 'Europe/Istanbul' })),
    );
    for (const [i, s] of series.entries()) {
      await stores.actuals.upsertActuals(
        s.id,
        generateSyntheticSeries({ from, to, seed: i + 1 }),
        to + HOUR_MS,
      );
    }
    await db.sql`insert into model_versions (version, kind, window_hours, horizons)
                 values ('own-v1', 'onnx', 336, 24), ('own-v2', 'onnx', 336, 24)`;
    await db.sql`update series set model_version = 'own-v1' where name = 'second'`;
    await db.sql`update series set model_version = 'own-v2' where name = 'third'`;
  });
  afterAll(async () => {
    rmSync(storeDir, { recursive: true, force: true });
    clearOnnxForecasterCache();
    await db?.drop();
  });

  it('loads models up to the limit in the order of the series; the rest get the default, labelled, and are still forecast', async () => {
    const stores = createPostgresStores(db.sql);
    const models = openModels(
      { modelDir: 'model-artifacts', maxModels: 2 },
      { store: new LocalModelStore(storeDir) },
    );
    const resolver = await models.resolver(stores);
    // The default and own-v1 (assigned to the older series): two sessions, as allowed.
    expect(
      resolver.forecasters
        .filter((f) => f.version.startsWith('own-') || f.version === SHIPPED)
        .map((f) => f.version),
    ).toEqual([SHIPPED, 'own-v1']);
    const summary = await runForecast(stores, resolver, { asOf: to + HOUR_MS + 7 * 60_000, trigger: 'test' });
    expect(summary).toMatchObject({ seriesCount: 3, okSeries: 2, fallbackSeries: 1, forecastsWritten: 72 });
    expect(summary.fallbackReasons).toEqual({ 'model-unavailable': 1 });
    expect(await storedLabels(db)).toEqual([
      { name: 'first', model_version: SHIPPED, method: SHIPPED, quality: 'ok', reason: null },
      { name: 'second', model_version: 'own-v1', method: 'own-v1', quality: 'ok', reason: null },
      {
        name: 'third',
        model_version: 'own-v2',
        method: SHIPPED,
        quality: 'fallback',
        reason: `model-unavailable: model own-v2 is not loaded because this process already holds the 2 models its memory fits (PULSE_MAX_MODELS; in AWS raise the forecast function's memory, docs/deploy.md); the default model ${SHIPPED} stands in`,
      },
    ]);
    // With room for all three, the same series gets its own model.
    clearOnnxForecasterCache();
    const roomy = await openModels(
      { modelDir: 'model-artifacts', maxModels: 3 },
      { store: new LocalModelStore(storeDir) },
    ).resolver(stores);
    const next = await runForecast(stores, roomy, { asOf: to + 2 * HOUR_MS + 7 * 60_000, trigger: 'test' });
    expect(next).toMatchObject({ seriesCount: 3, okSeries: 3, fallbackSeries: 0 });
  });
});

/** S3 objects as GetObject returns them (only what the store reads of a body). */
const body = (bytes: Uint8Array) => ({ transformToByteArray: async () => bytes }) as never;

describe('S3 model store', () => {
  const s3 = mockClient(S3Client);
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-s3-store-'));
  const files = ['onnx', 'json', 'parity.json'].map((ext) => `${SHIPPED}.${ext}`);
  beforeEach(() => s3.reset());
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('reads s3://bucket/prefix locations and refuses anything else, naming it', () => {
    expect(parseS3Uri('s3://pulse-models-123/models/')).toEqual({
      bucket: 'pulse-models-123',
      prefix: 'models',
    });
    expect(parseS3Uri('s3://pulse-models-123')).toEqual({ bucket: 'pulse-models-123', prefix: '' });
    expect(() => parseS3Uri('https://example.com/models')).toThrow(
      /MODEL_STORE "https:\/\/example.com\/models"/,
    );
    expect(openModelStore('s3://b-1/m', { s3: new S3Client({}) })).toBeInstanceOf(S3ModelStore);
  });

  it('publishes the three files of a version under the prefix, the metadata last', async () => {
    s3.on(PutObjectCommand).resolves({});
    const store = new S3ModelStore('s3://pulse-models/models', new S3Client({}), join(scratch, 'unused'));
    const uri = await store.publish('model-artifacts', SHIPPED);
    expect(uri).toBe(`s3://pulse-models/models/${SHIPPED}.onnx`);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Bucket, p.Key])).toEqual([
      ['pulse-models', `models/${SHIPPED}.onnx`],
      ['pulse-models', `models/${SHIPPED}.parity.json`],
      ['pulse-models', `models/${SHIPPED}.json`],
    ]);
    expect((puts[0]!.Body as Buffer).equals(readFileSync(`model-artifacts/${SHIPPED}.onnx`))).toBe(true);
  });

  it('downloads a version once per container and loads it with the sha256 and contract checks', async () => {
    for (const file of files) {
      s3.on(GetObjectCommand, { Bucket: 'pulse-models', Key: `models/${file}` }).resolves({
        Body: body(readFileSync(join('model-artifacts', file))),
      });
    }
    const store = new S3ModelStore('s3://pulse-models/models', new S3Client({}), join(scratch, 'cache'));
    const dir = await store.fetch(SHIPPED);
    clearOnnxForecasterCache();
    const model = await loadOnnxForecaster(dir, SHIPPED);
    expect(model.metadata.onnx.sha256).toBe(
      'c80c31e8ae242f823b14ecb7cab603beea75f7ad106b72d382da615b4dac621e',
    );
    await store.fetch(SHIPPED);
    // A second container-local fetch reads nothing from S3 again.
    await new S3ModelStore('s3://pulse-models/models', new S3Client({}), join(scratch, 'cache')).fetch(
      SHIPPED,
    );
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(3);
  });

  it('a tampered object in the bucket is refused by the sha256 check, not served', async () => {
    for (const file of files) {
      const bytes = readFileSync(join('model-artifacts', file));
      if (file.endsWith('.onnx')) bytes[1000] = bytes[1000]! ^ 0xff;
      s3.on(GetObjectCommand, { Bucket: 'pulse-models', Key: `m/${file}` }).resolves({ Body: body(bytes) });
    }
    const store = new S3ModelStore('s3://pulse-models/m', new S3Client({}), join(scratch, 'tampered'));
    clearOnnxForecasterCache();
    await expect(loadOnnxForecaster(await store.fetch(SHIPPED), SHIPPED)).rejects.toThrow(
      /has sha256 .* but/,
    );
  });

  it('an unreadable bucket is a ModelError naming the object, retried on the next fetch', async () => {
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const store = new S3ModelStore('s3://pulse-models/models', new S3Client({}), join(scratch, 'denied'));
    await expect(store.fetch('x-v1')).rejects.toThrow(
      'cannot read s3://pulse-models/models/x-v1.onnx: AccessDenied: Access Denied',
    );
    await expect(store.fetch('x-v1')).rejects.toThrow(ModelError);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
  });
});

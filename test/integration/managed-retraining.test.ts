import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPromotionHandler,
  createTrainingDataHandler,
  trainingJobName,
  type PromotionResult,
  type TrainingJob,
} from '../../src/adapters/lambda/retraining.ts';
import { S3ModelStore } from '../../src/adapters/model-store/s3-store.ts';
import { PostgresModelRegistry } from '../../src/adapters/postgres/model-registry.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { readTrainingActuals } from '../../src/adapters/postgres/training-actuals.ts';
import { trainCandidate } from '../../src/adapters/training/train-candidate.ts';
import { dayOfIso } from '../../src/core/calendar/localTime.ts';
import { InputError } from '../../src/core/errors.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { CALENDAR, DAYS, FROM, TINY, hasTorch, regimeChange } from '../helpers/regime-change.ts';
import { openTestRuntime } from '../helpers/handlers.ts';

/**
 * The managed retraining cycle's two Lambda handlers (src/adapters/lambda/retraining.ts) end to end
 * against the real embedded PostgreSQL and an in-memory S3 (aws-sdk-client-mock), with the SageMaker
 * step played by training/sagemaker_entry.py in SageMaker's file layout (channel folder, model folder,
 * model.tar.gz made by Python's tarfile). Real tiny PyTorch trainings; skipped without PyTorch.
 */
if (!hasTorch) console.warn('skipped managed retraining tests: run npm run setup:training to enable');

const BUCKET = 'pulse-models-test';

/** An S3 bucket in memory behind aws-sdk-client-mock: PutObject stores, GetObject reads or 404s. */
function fakeS3(): { objects: Map<string, Buffer>; client: S3Client } {
  const objects = new Map<string, Buffer>();
  const mock = mockClient(S3Client);
  mock.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body: Buffer }) => {
    objects.set(`${input.Bucket}/${input.Key}`, Buffer.from(input.Body));
    return {};
  });
  mock.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const bytes = objects.get(`${input.Bucket}/${input.Key}`);
    if (!bytes) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToByteArray: async () => new Uint8Array(bytes) } };
  });
  return { objects, client: new S3Client({ region: 'eu-central-1' }) };
}

describe.runIf(hasTorch)('managed retraining cycle: training-data and promotion handlers', () => {
  let db: TestDatabase;
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-managed-'));
  const s3 = fakeS3();
  const env = () => ({
    DATABASE_URL: db.url,
    MODEL_DIR: 'model-artifacts',
    MODEL_STORE: `s3://${BUCKET}/models`,
    TRAINING_DATA_URI: `s3://${BUCKET}/training`,
  });
  const options = () => ({
    s3: s3.client,
    recipe: () => TINY,
    backtestDays: 14,
    workDir: join(scratch, 'lambda'),
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    const rows = regimeChange(
      generateSyntheticSeries({
        from: FROM,
        to: FROM + (DAYS * 24 - 1) * HOUR_MS,
        calendar: CALENDAR,
        seed: 11,
      }),
    );
    const stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([{ name: 'regime_1', ...CALENDAR }]);
    await stores.actuals.upsertActuals(series!.id, rows, rows.at(-1)!.hour + HOUR_MS);
    // The champion saw only the old regime (trained to day 49), stored in the same S3 store.
    const registry = new PostgresModelRegistry(db.sql);
    const { actuals } = await readTrainingActuals(db.sql, 'regime_1');
    const { candidate } = await trainCandidate({
      series: series!,
      actuals,
      recipe: TINY,
      untilDay: dayOfIso('2025-02-23'),
      testTo: null,
      store: new S3ModelStore(`s3://${BUCKET}/models`, s3.client, join(scratch, 'champion-cache')),
      registry,
      command: 'test champion',
      version: 'regime-champion',
      workDir: join(scratch, 'champion'),
      trainer: { onLine: () => undefined },
      log: () => undefined,
    });
    await registry.promote(series!.id, candidate.version, 'first model of the series');
    await stores.series.ensureSeries([{ name: 'idle', ...CALENDAR }]);
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** SageMaker's part: the channel as a folder, the entry point, /opt/ml/model tarred as model.tar.gz. */
  function runTrainingJob(job: TrainingJob): string {
    const root = join(scratch, 'opt-ml', job.jobName);
    const channel = join(root, 'input/data/tensors');
    mkdirSync(channel, { recursive: true });
    const inputKey = job.inputUri.replace(`s3://${BUCKET}/`, '');
    for (const [key, bytes] of s3.objects) {
      if (key.startsWith(`${BUCKET}/${inputKey}/`))
        writeFileSync(join(channel, key.split('/').at(-1)!), bytes);
    }
    const run = spawnSync('/usr/bin/python3', ['training/sagemaker_entry.py'], {
      env: {
        ...process.env,
        SM_CHANNEL_TENSORS: channel,
        SM_MODEL_DIR: join(root, 'model'),
        SM_OUTPUT_DIR: join(root, 'output'),
        PULSE_SCRATCH_DIR: root,
        OPENBLAS_NUM_THREADS: '1',
      },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const tarball = join(root, 'model.tar.gz');
    spawnSync('/usr/bin/python3', [
      '-c',
      'import sys, tarfile, os\nwith tarfile.open(sys.argv[1], "w:gz") as t:\n  for f in sorted(os.listdir(sys.argv[2])): t.add(os.path.join(sys.argv[2], f), arcname=f)',
      tarball,
      join(root, 'model'),
    ]);
    const key = `${job.outputUri.replace(`s3://${BUCKET}/`, '')}/${job.jobName}/output/model.tar.gz`;
    s3.objects.set(`${BUCKET}/${key}`, readFileSync(tarball));
    return `s3://${BUCKET}/${key}`;
  }

  it('lists the active series, or checks the ones given', async () => {
    const handler = createTrainingDataHandler(openTestRuntime(env()), options());
    expect(await handler({ step: 'list' })).toEqual({ series: ['regime_1', 'idle'] });
    expect(await handler({ step: 'list', series: ['idle'] })).toEqual({ series: ['idle'] });
    await expect(handler({ step: 'list', series: ['nope'] })).rejects.toThrow(/series: not active: nope/);
    await expect(handler({ step: 'prepare', series: 'regime_1' })).rejects.toThrow(InputError);
  });

  it('stages tensors, trains in the SageMaker layout, and promotes the challenger that wins after a regime change', async () => {
    const runtime = openTestRuntime(env());
    const prepare = createTrainingDataHandler(runtime, options());
    const promote = createPromotionHandler(runtime, options());

    // A minute of its own: model versions never repeat, and the S3 store's cache in /tmp trusts that.
    const startedAt = Math.floor(Date.now() / 60_000) * 60_000;
    const stamp = new Date(startedAt).toISOString().replace(/[-:]/g, '').slice(0, 13); // 20261202T1134
    const job = (await prepare({
      step: 'prepare',
      series: 'regime_1',
      startedAt: new Date(startedAt).toISOString(),
    })) as TrainingJob;
    expect(job.jobName).toBe(trainingJobName('regime_1', job.untilDay, startedAt));
    expect(job.jobName).toMatch(new RegExp(`^pulse-regime-1-[0-9a-f]{4}-20250413-${stamp}$`));
    expect(job.jobName.length).toBeLessThanOrEqual(63);
    expect(job.version).toBe(`pulse-mlp-regime_1-20250413-${stamp}00`);
    expect(job.inputUri).toBe(`s3://${BUCKET}/training/${job.version}/input`);
    expect(job.outputUri).toBe(`s3://${BUCKET}/training/${job.version}/output`);
    // The last 14 complete local days are the back-test; training and validation end the day before.
    expect(job.backtestFrom).toBe('2025-04-13T22:00:00Z');
    expect(job.backtestTo).toBe('2025-04-27T21:00:00Z');
    expect(job.recipe).toEqual(TINY);
    const staged = [...s3.objects.keys()]
      .filter((k) => k.includes(`${job.version}/input/`))
      .map((k) => k.split('/').at(-1));
    expect(staged.sort()).toEqual(
      [
        'manifest.json',
        'parity_calendar.f32',
        'parity_history.f32',
        'train_calendar.f32',
        'train_history.f32',
        'train_target.f32',
        'val_calendar.f32',
        'val_history.f32',
        'val_target.f32',
      ].sort(),
    );
    const manifest = JSON.parse(
      s3.objects.get(`${BUCKET}/training/${job.version}/input/manifest.json`)!.toString(),
    );
    // 7 validation days of hourly origins, less the last 23 whose 24 h targets would run past them;
    // the training tensor holds n × 168 float32 values.
    expect(manifest.val.n).toBe(7 * 24 - 23);
    expect(s3.objects.get(`${BUCKET}/training/${job.version}/input/train_history.f32`)!.length).toBe(
      manifest.train.n * 168 * 4,
    );

    const modelArtifacts = runTrainingJob(job);
    const outcome = (await promote({ step: 'promote', job, modelArtifacts })) as PromotionResult;
    expect(outcome).toMatchObject({
      series: 'regime_1',
      challengerVersion: job.version,
      servedVersion: 'regime-champion',
      promoted: true,
    });
    expect(outcome.reason).toMatch(/^better by ≥ 2.0 %/);
    // The model is in the store, registered with its S3 location and the parity result, and the champion.
    for (const ext of ['onnx', 'json', 'parity.json'])
      expect(s3.objects.has(`${BUCKET}/models/${job.version}.${ext}`), ext).toBe(true);
    const [registered] =
      await db.sql`select status, store_uri, validation from model_versions where version = ${job.version}`;
    expect(registered).toMatchObject({
      status: 'champion',
      store_uri: `s3://${BUCKET}/models/${job.version}.onnx`,
    });
    expect(registered!.validation.parity).toMatchObject({ ok: true });
    const [decision] = await db.sql`select * from retraining_decisions where id = ${outcome.decisionId}`;
    expect(decision).toMatchObject({
      promoted: true,
      challenger_version: job.version,
      champion_version: 'regime-champion',
    });
    expect(decision!.challenger_figures.maeH1).toBeLessThan(0.98 * decision!.champion_figures.maeH1);
    expect(decision!.challenger_figures.origins).toBe(decision!.champion_figures.origins);
    const metadata = JSON.parse(s3.objects.get(`${BUCKET}/models/${job.version}.json`)!.toString());
    expect(metadata.training.command).toMatch(/Step Functions \+ SageMaker/);
    expect(metadata.trainingSpan).toEqual(job.trainingSpan);
  });

  it('records a failed training job as a decision that keeps the served model, naming the cause', async () => {
    const promote = createPromotionHandler(openTestRuntime(env()), options());
    const outcome = (await promote({
      step: 'failed',
      series: 'regime_1',
      error: {
        Error: 'SageMaker.AmazonSageMakerException',
        Cause: JSON.stringify({ FailureReason: 'AlgorithmError: trainer exited with code 1' }),
      },
    })) as PromotionResult;
    expect(outcome).toMatchObject({ series: 'regime_1', challengerVersion: null, promoted: false });
    expect(outcome.reason).toBe(
      'training failed: SageMaker.AmazonSageMakerException: AlgorithmError: trainer exited with code 1',
    );
    const [decision] =
      await db.sql`select promoted, reason, challenger_figures from retraining_decisions where id = ${outcome.decisionId}`;
    expect(decision).toMatchObject({ promoted: false, challenger_figures: null });
  });

  it('reads a job handed on by the version before a deploy, whose recipe lacks the fields added since', async () => {
    const job = (await createTrainingDataHandler(
      openTestRuntime(env()),
      options(),
    )({
      step: 'prepare',
      series: 'regime_1',
      startedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000 + 120_000).toISOString(),
    })) as TrainingJob;
    const { minEpochs: _m, changes: _c, ...recipe } = job.recipe;
    const promote = createPromotionHandler(openTestRuntime(env()), options());
    const outcome = (await promote({
      step: 'failed',
      series: 'regime_1',
      job: { ...job, recipe },
      error: { Error: 'States.Timeout', Cause: 'the training job ran past its limit' },
    })) as PromotionResult;
    expect(outcome).toMatchObject({ series: 'regime_1', promoted: false });
    expect(outcome.reason).toBe('training failed: States.Timeout: the training job ran past its limit');
  });

  it('refuses a promote event without the training job, and a missing model.tar.gz, naming them', async () => {
    const promote = createPromotionHandler(openTestRuntime(env()), options());
    await expect(promote({ step: 'promote', modelArtifacts: 's3://b-1/x' })).rejects.toThrow(
      /invalid promotion event: job:/,
    );
    const job = (await createTrainingDataHandler(
      openTestRuntime(env()),
      options(),
    )({
      step: 'prepare',
      series: 'regime_1',
      startedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000 + 60_000).toISOString(),
    })) as TrainingJob;
    await expect(
      promote({
        step: 'promote',
        job,
        modelArtifacts: `${job.outputUri}/${job.jobName}/output/model.tar.gz`,
      }),
    ).rejects.toThrow(/cannot read s3:\/\/pulse-models-test\/training\/.*model\.tar\.gz: NoSuchKey/);
  });
});

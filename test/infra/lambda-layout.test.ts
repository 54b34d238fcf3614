/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped. */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/pulse-function.ts';
import { readTarGz } from '../../src/adapters/archive/tar.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { generateSyntheticSeries, SYNTHETIC_CALENDAR } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { alarmStates, metricsOf, pulseAlarmSpecs, type HourObserved } from '../helpers/alarms.ts';
import { serverUrl } from '../helpers/db.ts';
import { startFakeEpias, writeEpiasSeriesFile } from '../helpers/fake-epias.ts';
import { startFakeS3 } from '../helpers/fake-s3.ts';
import { startFakeSecretsManager } from '../helpers/fake-secrets-manager.ts';
import { scheduled } from '../helpers/handlers.ts';
import { assetDir, synthPulse } from './synth.ts';

/**
 * The bundles and layers `cdk synth` writes to cdk.out, laid out as Lambda does under this test's own
 * temporary directory: each function's code in <fn>/var/task, its layers merged into <fn>/opt (the
 * runtime layer's nodejs/node_modules, the model layer's models/), the runtime's AWS SDK in
 * var/runtime/node_modules. Each invoke is a fresh Node process (a cold container) with Lambda's
 * environment variables and NODE_PATH, importing index.mjs with ES-module resolution that searches
 * NODE_PATH as the Lambda runtime does (helpers/lambda/esm-node-path.mjs). Deviations from AWS: x86-64
 * Node 20 instead of arm64 Node 22, so the layer's linux-arm64 onnxruntime binding is joined by the
 * installed linux-x64 one; the database has no TLS (DATABASE_SSL=disable; verify-full is tested in
 * test/integration/database-tls.test.ts); Secrets Manager and EPİAŞ are local fakes.
 */
const suffix = randomBytes(4).toString('hex');
const dbName = `pulse_layout_${suffix}`;
const appUser = `pulse_app_user_${suffix}`;
const readerUser = `pulse_reader_user_${suffix}`;
const root = mkdtempSync(path.join(tmpdir(), 'pulse-lambda-layout-'));
const epias = await startFakeEpias({ username: 'operator@example.com', password: 'epias-pass' });
const secretsManager = await startFakeSecretsManager();

// The user's series file, validated by the synth and carried in the migrate bundle.
const configFile = writeEpiasSeriesFile(root, epias);
const fakeS3 = await startFakeS3();
// A tiny recipe through the context, so the retraining bundles train in seconds.
const TINY_RECIPE = {
  windowHours: 168,
  validationDays: 7,
  epochs: 4,
  members: 1,
  hidden: 64,
  patience: 3,
  workers: 1,
};
const { template, assembly } = synthPulse({
  'pulse:seriesConfig': configFile,
  'pulse:retrainRecipe': JSON.stringify(TINY_RECIPE),
});
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

function functionNamed(description: RegExp): { id: string; props: Record<string, any> } {
  const [entry] = Object.entries(resources).filter(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && description.test(String(r.Properties.Description ?? '')),
  );
  return { id: entry![0], props: entry![1].Properties };
}

const FUNCTIONS = {
  migrate: functionNamed(/^Pulse: apply database migrations/),
  ingest: functionNamed(/^Pulse: pull/),
  forecast: functionNamed(/^Pulse: forecast/),
  evaluate: functionNamed(/^Pulse: score/),
  trainingData: functionNamed(/^Pulse: list the series of a retraining cycle/),
  promotion: functionNamed(/^Pulse: check parity, back-test and promote/),
};
type FunctionName = keyof typeof FUNCTIONS;

const secretArn = (logicalId: string) =>
  `arn:aws:secretsmanager:eu-central-1:000000000000:secret:${logicalId}`;
const server = new URL(serverUrl(dbName));

/** A CloudFormation value of the function's environment, resolved as the deployed stack would. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (v.Ref && resources[v.Ref]?.Type === 'AWS::S3::Bucket') return 'pulse-models-layout';
  if (v.Ref) return secretArn(v.Ref);
  if (v['Fn::Join']) return v['Fn::Join'][1].map(resolve).join(v['Fn::Join'][0]);
  if (v['Fn::GetAtt']?.[1] === 'Endpoint.Address') return server.hostname;
  if (v['Fn::GetAtt']?.[1] === 'Endpoint.Port') return server.port;
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** Lays one function out as Lambda extracts it; returns the paths that stand for /var/task and /opt. */
function layOut(name: FunctionName): { task: string; opt: string } {
  const { props } = FUNCTIONS[name];
  const base = path.join(root, name);
  const task = path.join(base, 'var', 'task');
  const opt = path.join(base, 'opt');
  cpSync(assetDir(assembly, props.Code.S3Key), task, { recursive: true });
  mkdirSync(opt, { recursive: true });
  for (const layer of (props.Layers ?? []) as Array<{ Ref: string }>) {
    cpSync(assetDir(assembly, resources[layer.Ref]!.Properties.Content.S3Key), opt, { recursive: true });
  }
  const ort = path.join(opt, 'nodejs', 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux');
  if (existsSync(path.join(ort, 'arm64'))) {
    // The x64 build stands in for the arm64 one this machine cannot load; nothing else is added.
    cpSync(
      path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64'),
      path.join(ort, 'x64'),
      {
        recursive: true,
      },
    );
  }
  return { task, opt };
}

const runtimeDir = path.join(root, 'var', 'runtime');
const layouts = {} as Record<FunctionName, { task: string; opt: string }>;

/** Lambda's variables for the function, plus the template's, with /var/task and /opt mapped into the layout. */
function lambdaEnvironment(name: FunctionName): Record<string, string> {
  const { props } = FUNCTIONS[name];
  const { task, opt } = layouts[name];
  const local = (p: string) => p.replace(/^\/var\/task(?=\/|$)/, task).replace(/^\/opt(?=\/|$)/, opt);
  const fromTemplate = Object.fromEntries(
    Object.entries((props.Environment?.Variables ?? {}) as Record<string, unknown>).map(([k, v]) => [
      k,
      local(resolve(v)),
    ]),
  );
  expect(fromTemplate.DATABASE_SSL, name).toBe('verify-full');
  expect(fromTemplate.DATABASE_NAME, name).toBe('pulse');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: props.Handler,
    LAMBDA_TASK_ROOT: task,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    // The runtime's NODE_PATH for nodejs22.x, with /opt, /var/runtime and /var/task mapped.
    NODE_PATH: [
      path.join(opt, 'nodejs', 'node22', 'node_modules'),
      path.join(opt, 'nodejs', 'node_modules'),
      path.join(runtimeDir, 'node_modules'),
      runtimeDir,
      task,
    ].join(path.delimiter),
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_REGION: 'eu-central-1',
    AWS_DEFAULT_REGION: 'eu-central-1',
    AWS_LAMBDA_FUNCTION_NAME: `Pulse-${name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/Pulse-${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'layout-test',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    AWS_SESSION_TOKEN: 'example',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.baseUrl,
    AWS_ENDPOINT_URL_S3: fakeS3.endpoint,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    ...fromTemplate,
    DATABASE_SSL: 'disable', // the embedded server has no TLS
    DATABASE_NAME: dbName, // 'pulse' in AWS; this test's own database on the shared server
  };
}

const run = promisify(execFile);
const invokeScript = path.join(import.meta.dirname, '..', 'helpers', 'lambda', 'invoke.mjs');
const registerScript = path.join(import.meta.dirname, '..', 'helpers', 'lambda', 'register.mjs');

/** One invoke in a cold process; returns the handler's result and the lines it printed (logs, EMF). */
async function invoke(
  name: FunctionName,
  event: unknown,
): Promise<{ result: any; error?: any; lines: string[] }> {
  const { stdout } = await run(process.execPath, ['--import', registerScript, invokeScript], {
    cwd: layouts[name].task,
    env: { ...lambdaEnvironment(name), PULSE_TEST_EVENT: JSON.stringify(event) },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  const [output, marked] = stdout.split('@@lambda-result@@');
  const outcome = JSON.parse(marked!.trim().split('\n')[0]!) as {
    ok: boolean;
    result?: unknown;
    error?: unknown;
  };
  return {
    result: outcome.result,
    error: outcome.ok ? undefined : outcome.error,
    lines: output!.split('\n'),
  };
}

beforeAll(async () => {
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) layouts[name] = layOut(name);
  mkdirSync(path.join(runtimeDir, 'node_modules'), { recursive: true });
  // The runtime's own AWS SDK v3 (the bundles keep @aws-sdk/* external, as they do for Lambda).
  symlinkSync(
    path.join(REPO_ROOT, 'node_modules', '@aws-sdk'),
    path.join(runtimeDir, 'node_modules', '@aws-sdk'),
    'dir',
  );

  const admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${dbName}`);
  await admin.end();
  const id = (prefix: string) =>
    Object.keys(resources).find(
      (k) => k.startsWith(prefix) && resources[k]!.Type === 'AWS::SecretsManager::Secret',
    )!;
  secretsManager.secrets.set(secretArn(id('DatabaseMasterSecret')), {
    username: decodeURIComponent(server.username),
    password: server.password || 'unused',
    engine: 'postgres',
  });
  secretsManager.secrets.set(secretArn(id('DatabaseAppSecret')), {
    username: appUser,
    password: 'App-pass-1',
  });
  secretsManager.secrets.set(secretArn(id('DatabaseReaderSecret')), {
    username: readerUser,
    password: 'Reader-pass-1',
  });
  // What the stack creates: the placeholder.
  secretsManager.secrets.set(secretArn(id('FunctionsIngestCredentials')), {
    username: 'set-me',
    password: 'generated',
  });
});

afterAll(async () => {
  await epias.close();
  await secretsManager.close();
  await fakeS3.close();
  const admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  for (const user of [appUser, readerUser]) await admin.unsafe(`drop role if exists ${user}`);
  await admin.end();
  rmSync(root, { recursive: true, force: true });
});

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('the Lambda layout from cdk.out', () => {
  it('lays out only what the bundles and layers hold: onnxruntime-node comes from the layer, not node_modules', () => {
    expect(existsSync(path.join(layouts.forecast.task, 'index.mjs'))).toBe(true);
    expect(existsSync(path.join(layouts.forecast.task, 'node_modules'))).toBe(false);
    expect(
      existsSync(
        path.join(layouts.forecast.opt, 'nodejs', 'node_modules', 'onnxruntime-node', 'package.json'),
      ),
    ).toBe(true);
    expect(
      existsSync(path.join(layouts.forecast.opt, 'models', 'pulse-model-layer.json')) ||
        existsSync(path.join(layouts.forecast.opt, 'pulse-model-layer.json')),
    ).toBe(true);
    expect(existsSync(path.join(layouts.evaluate.opt, 'nodejs'))).toBe(false);
    expect(existsSync(path.join(layouts.migrate.task, 'pulse.config.json'))).toBe(true);
    expect(existsSync(path.join(layouts.migrate.task, 'rds-global-bundle.pem'))).toBe(true);
  });

  it('fails as Lambda would when the ES-module import of a layer package has no NODE_PATH search', async () => {
    const env = lambdaEnvironment('forecast');
    // Without the runtime's NODE_PATH search, Node cannot find the layer's onnxruntime-node.
    const probe = `import(${JSON.stringify(path.join(layouts.forecast.task, 'index.mjs'))}).then(() => console.log('loaded'), (e) => console.log(e.code))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: layouts.forecast.task,
      env,
    });
    expect(stdout.trim()).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('serves the first deploy: migrate, ingest, forecast and evaluate from their bundles reach forecasts, evaluations and healthy alarms', async () => {
    const migrated = await invoke('migrate', {});
    expect(migrated.error).toBeUndefined();
    expect(migrated.result).toMatchObject({ seriesConfig: { created: ['turkey'] } });

    const firstHour = Date.UTC(2025, 2, 10, 9);
    const hours: HourObserved[] = [];
    const results: Record<string, any> = {};
    for (let h = 0; h < 3; h++) {
      const hour = firstHour + h * HOUR_MS;
      if (h === 1) {
        secretsManager.secrets.set(
          secretArn(
            Object.keys(resources).find(
              (k) =>
                k.startsWith('FunctionsIngestCredentials') &&
                resources[k]!.Type === 'AWS::SecretsManager::Secret',
            )!,
          ),
          { username: 'operator@example.com', password: 'epias-pass' },
        );
      }
      epias.until = hour - HOUR_MS;
      const observed = { metrics: {} as Record<string, number[]>, errors: {} as Record<string, number> };
      for (const [name, minute] of [
        ['ingest', 2],
        ['forecast', 7],
        ['evaluate', 17],
      ] as const) {
        const { result, error, lines } = await invoke(name, scheduled(iso(hour + minute * 60_000)));
        expect(error, `${name} at ${iso(hour)}: ${lines.slice(-5).join('\n')}`).toBeUndefined();
        observed.errors[name] = error ? 1 : 0;
        for (const [metric, values] of Object.entries(metricsOf(lines)))
          (observed.metrics[metric] ??= []).push(...values);
        results[`${name}@${h}`] = result;
      }
      hours.push(observed);
    }
    expect(results['ingest@0']).toMatchObject({ status: 'not-configured' });
    expect(results['ingest@1']).toMatchObject({
      status: 'ingested',
      series: [{ name: 'turkey', inserted: 336 }],
    });
    expect(results['forecast@1']).toMatchObject({ seriesCount: 1, okSeries: 1, forecastsWritten: 24 });
    expect(results['forecast@2']).toMatchObject({ seriesCount: 1, okSeries: 1 });

    const sql = postgres(serverUrl(dbName), { max: 1, onnotice: () => undefined });
    try {
      const [counts] = await sql`
        select (select count(*)::int from predictions where quality = 'ok') as forecasts,
               (select count(*)::int from evaluations) as evaluations,
               (select string_agg(distinct method, ',') from predictions) as methods`;
      expect(counts).toMatchObject({ forecasts: 48, evaluations: 1 });
      // The ONNX model from the model layer made them, through the layer's onnxruntime-node.
      expect(counts!.methods).toMatch(/^pulse-mlp/);
    } finally {
      await sql.end();
    }
    const specs = pulseAlarmSpecs();
    for (let h = 1; h <= hours.length; h++) {
      expect(alarmStates(specs, hours.slice(0, h)), `after hour ${h - 1}`).toEqual(
        Object.fromEntries(specs.map((s) => [s.name, 'OK'])),
      );
    }

    // The manual invoke that lists the series.
    const listed = await invoke('migrate', { mode: 'series' });
    expect(listed.result.series).toEqual([
      expect.objectContaining({
        name: 'turkey',
        active: true,
        configured: true,
        sourceKind: 'epias',
        newestActual: '2025-03-10T10:00:00.000Z',
      }),
    ]);
  }, 180_000); // twelve cold Lambda processes: 14–57 s at load 15–28, over the default 60 s in a loaded full run

  const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  it.runIf(hasTorch)(
    "runs a retraining cycle from the bundles: tensors to S3, the job source from the asset in SageMaker's layout, the decision recorded",
    async () => {
      // A series with 200 days of actuals, after the first deploy's migrations.
      const sql = postgres(serverUrl(dbName), { max: 1, onnotice: () => undefined });
      try {
        const stores = createPostgresStores(sql);
        const [series] = await stores.series.ensureSeries([{ name: 'retrain', ...SYNTHETIC_CALENDAR }]);
        const to = Date.UTC(2025, 5, 30, 20);
        const rows = generateSyntheticSeries({ from: to - (200 * 24 - 1) * HOUR_MS, to, seed: 8 });
        await stores.actuals.upsertActuals(series!.id, rows, to + HOUR_MS);
      } finally {
        await sql.end();
      }
      const env = lambdaEnvironment('trainingData');
      expect(JSON.parse(env.RETRAIN_RECIPE!)).toEqual(TINY_RECIPE);
      expect(env.TRAINING_DATA_URI).toBe('s3://pulse-models-layout/training');

      const listed = await invoke('trainingData', { step: 'list', series: null });
      expect(listed.error).toBeUndefined();
      expect(listed.result.series).toContain('retrain');
      const prepared = await invoke('trainingData', {
        step: 'prepare',
        series: 'retrain',
        // A minute of its own: model versions never repeat, and the store's cache in /tmp trusts that.
        startedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString(),
      });
      expect(prepared.error, prepared.lines.slice(-5).join('\n')).toBeUndefined();
      const job = prepared.result;
      expect(job.recipe).toMatchObject(TINY_RECIPE);
      const inputPrefix = `pulse-models-layout/training/${job.version}/input/`;
      const staged = [...fakeS3.objects.keys()].filter((k) => k.startsWith(inputPrefix));
      expect(staged.map((k) => k.slice(inputPrefix.length))).toContain('manifest.json');

      // SageMaker's part, from what cdk.out holds: the source archive the job is given, the channel.
      const definition = JSON.stringify(
        Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!.Properties
          .DefinitionString,
      );
      const sourceHash = /([0-9a-f]{64})\.gz/.exec(definition)![1];
      const opt = path.join(root, 'sagemaker', 'opt', 'ml');
      mkdirSync(path.join(opt, 'code'), { recursive: true });
      for (const file of readTarGz(readFileSync(path.join(assembly.directory, `asset.${sourceHash}.tar.gz`))))
        writeFileSync(path.join(opt, 'code', file.name), file.data);
      const channel = path.join(opt, 'input', 'data', 'tensors');
      mkdirSync(channel, { recursive: true });
      for (const key of staged)
        writeFileSync(path.join(channel, key.slice(inputPrefix.length)), fakeS3.objects.get(key)!);
      const trained = spawnSync('/usr/bin/python3', [path.join(opt, 'code', 'sagemaker_entry.py')], {
        cwd: path.join(opt, 'code'),
        env: {
          ...process.env,
          SM_CHANNEL_TENSORS: channel,
          SM_MODEL_DIR: path.join(opt, 'model'),
          SM_OUTPUT_DIR: path.join(opt, 'output'),
          PULSE_SCRATCH_DIR: path.join(root, 'sagemaker'),
          OPENBLAS_NUM_THREADS: '1',
        },
        encoding: 'utf8',
      });
      expect(trained.status, trained.stderr.slice(-2000)).toBe(0);
      const tarball = path.join(root, 'sagemaker', 'model.tar.gz');
      spawnSync('/usr/bin/python3', [
        '-c',
        'import sys, tarfile, os\nwith tarfile.open(sys.argv[1], "w:gz") as t:\n  for f in sorted(os.listdir(sys.argv[2])): t.add(os.path.join(sys.argv[2], f), arcname=f)',
        tarball,
        path.join(opt, 'model'),
      ]);
      const outputKey = `training/${job.version}/output/${job.jobName}/output/model.tar.gz`;
      fakeS3.objects.set(`pulse-models-layout/${outputKey}`, readFileSync(tarball));

      const promoted = await invoke('promotion', {
        step: 'promote',
        job,
        modelArtifacts: `s3://pulse-models-layout/${outputKey}`,
      });
      expect(promoted.error, promoted.lines.slice(-5).join('\n')).toBeUndefined();
      expect(promoted.result).toMatchObject({ series: 'retrain', challengerVersion: job.version });
      for (const ext of ['onnx', 'json', 'parity.json'])
        expect(fakeS3.objects.has(`pulse-models-layout/models/${job.version}.${ext}`), ext).toBe(true);
      const check = postgres(serverUrl(dbName), { max: 1, onnotice: () => undefined });
      try {
        const [decision] = await check`
          select d.promoted, d.challenger_figures, d.champion_figures, v.store_uri, v.validation, v.status
          from retraining_decisions d join model_versions v on v.version = d.challenger_version
          where d.id = ${promoted.result.decisionId}`;
        expect(decision).toMatchObject({
          promoted: promoted.result.promoted,
          store_uri: `s3://pulse-models-layout/models/${job.version}.onnx`,
          status: promoted.result.promoted ? 'champion' : 'candidate',
        });
        // Parity was checked on the layer's onnxruntime (all 16 × 24 × 3 values); a challenger that
        // fails it is never promoted. Both models were scored on the same origins.
        expect(decision!.validation.parity.values).toBe(16 * 24 * 3);
        if (!decision!.validation.parity.ok) {
          expect(decision!.promoted).toBe(false);
          expect(promoted.result.reason).toMatch(/parity/i);
        }
        expect(decision!.challenger_figures.origins).toBe(decision!.champion_figures.origins);
        expect(decision!.challenger_figures.origins).toBeGreaterThan(1000);
      } finally {
        await check.end();
      }
    },
    240_000,
  );
});

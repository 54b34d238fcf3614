import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOUR_MS } from '../src/core/time.ts';
import { bundleHandler, handlerSpecs } from './bundles.ts';
import { createSeries, seedActuals, type BenchServer } from './database.ts';
import { figure, timing, TARGETS, type Section } from './figures.ts';
import type { BenchModel } from './model.ts';
import { spreadOf } from './stats.ts';

// Runs in a fresh `node` (no tsx): import the bundled handler, serve one scheduled event, report.
const DRIVER = `
const bootMs = performance.now();
const t0 = performance.now();
const { handler } = await import(process.argv[2]);
const importMs = performance.now() - t0;
const t1 = performance.now();
const summary = await handler(JSON.parse(process.argv[3]), { functionName: 'pulse-forecast', awsRequestId: 'bench' });
const firstEventMs = performance.now() - t1;
const usage = process.resourceUsage();
process.stdout.write(JSON.stringify({ bootMs, importMs, firstEventMs, maxRssKb: usage.maxRSS,
  cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  written: summary.forecastsWritten, ok: summary.okSeries, fallback: summary.fallbackSeries }) + '\\n');
process.exit(0);
`;

interface ChildReport {
  bootMs: number;
  importMs: number;
  firstEventMs: number;
  maxRssKb: number;
  /** CPU time of the whole process (user + system, boot included): what a loaded machine inflates least. */
  cpuMs: number;
  written: number;
  ok: number;
  fallback: number;
  wallMs: number;
}

function runChild(
  bundle: string,
  driver: string,
  event: unknown,
  env: NodeJS.ProcessEnv,
): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [driver, bundle, JSON.stringify(event)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        return reject(new Error(`cold-start child exited ${code}: ${err.trim() || out.trim()}`));
      resolve({ ...(JSON.parse(line) as Omit<ChildReport, 'wallMs'>), wallMs: performance.now() - t0 });
    });
  });
}

/**
 * Cold start of the forecast function: a new Node process imports the esbuild bundle of
 * functions/forecast (model warm-up starts at import, as in Lambda's init) and serves its first
 * scheduled event against the local database (DATABASE_URL, so no Secrets Manager call).
 */
export async function benchColdStart(
  repoRoot: string,
  workDir: string,
  server: BenchServer,
  model: BenchModel,
  quick: boolean,
): Promise<{ section: Section; medianMs: number; maxRssMb: number }> {
  const spec = handlerSpecs(repoRoot).find((h) => h.name === 'forecast')!;
  const bundle = await bundleHandler(repoRoot, spec, join(workDir, 'cold-start', 'forecast'));
  const driver = join(workDir, 'cold-start', 'driver.mjs');
  writeFileSync(driver, DRIVER);
  const reps = quick ? 1 : 7;
  const db = await server.createDatabase('coldstart');
  const series = await createSeries(db.sql, 1);
  const newest = Date.UTC(2025, 5, 2, 0);
  await seedActuals(db.sql, series, newest - 400 * HOUR_MS, newest + reps * HOUR_MS);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: db.url,
    MODEL_DIR: model.dir,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_DEV: 'false',
    ...(model.status === 'missing' ? { PULSE_DEFAULT_MODEL: 'seasonal-naive-168h' } : {}),
  };
  const reports: ChildReport[] = [];
  for (let i = 0; i < reps; i++) {
    const time = new Date(newest + (i + 1) * HOUR_MS + 7 * 60_000).toISOString();
    reports.push(
      await runChild(bundle, driver, { source: 'aws.events', 'detail-type': 'Scheduled Event', time }, env),
    );
  }
  const total = spreadOf(reports.map((r) => r.importMs + r.firstEventMs));
  const rss = Math.max(...reports.map((r) => r.maxRssKb)) / 1024;
  const last = reports[reports.length - 1]!;
  const modelNote =
    model.status === 'missing' ? 'model missing: seasonal naive default' : `ONNX ${model.version}`;
  return {
    section: {
      id: 'coldStart',
      title: 'Cold start of the forecast function',
      method:
        'A fresh `node` process per run imports the esbuild bundle of functions/forecast (built by the bench as NodejsFunction does) ' +
        'and serves one EventBridge scheduled event for 1 series against the local PostgreSQL (DATABASE_URL: no Secrets Manager call, no TLS). ' +
        "Measured inside the process from the start of the import, so Node's own boot (Lambda's init) is excluded and reported separately.",
      figures: [
        timing(
          'coldStart.total',
          'Cold start: import handler + first event (model load, connect, run)',
          total,
          TARGETS.coldStart,
          `${modelNote}; first event wrote ${last.written} forecasts (${last.fallback} fallback)`,
        ),
        timing(
          'coldStart.import',
          '… of which module import (config, SDK, onnxruntime binding)',
          spreadOf(reports.map((r) => r.importMs)),
        ),
        timing(
          'coldStart.firstEvent',
          '… of which first event (waits for the model, connects, runs)',
          spreadOf(reports.map((r) => r.firstEventMs)),
        ),
        timing(
          'coldStart.cpu',
          'CPU time of the whole process (user + system, boot included)',
          spreadOf(reports.map((r) => r.cpuMs)),
          undefined,
          'inflated less by a loaded machine than the wall-clock figures above (not immune: shared caches)',
        ),
        timing(
          'coldStart.nodeBoot',
          'Node process boot before the import (excluded; Lambda init)',
          spreadOf(reports.map((r) => r.bootMs)),
        ),
        timing(
          'coldStart.wall',
          'Whole child process, spawn to exit',
          spreadOf(reports.map((r) => r.wallMs)),
        ),
        figure({
          id: 'coldStart.maxRss',
          label: 'Peak RSS of the forecast process (maxRSS)',
          value: rss,
          unit: 'MB',
        }),
      ],
    },
    medianMs: total.median,
    maxRssMb: rss,
  };
}

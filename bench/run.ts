/**
 * npm run bench [-- --quick] [--out DIR] [--model-dir DIR] [--data-dir DIR] [--database-url URL] [--only a,b]
 *
 * Measures Pulse's speed, size, accuracy and cost on this machine and writes results.json and
 * results.md (default: bench/). --quick is the smoke subset (small sizes, one repetition, no real data).
 * Not part of `npm test`: test/integration/bench-smoke.test.ts runs --quick into a temp folder.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchAccuracy } from './accuracy.ts';
import { benchColdStart } from './cold-start.ts';
import { estimateCost } from './cost.ts';
import { startBenchServer, type BenchServer } from './database.ts';
import { skipped, type Section } from './figures.ts';
import { benchInference } from './inference.ts';
import { benchModelCache } from './model-cache.ts';
import { findModel } from './model.ts';
import { benchBackfill, benchEvaluation, benchHourly, type HourlyMeasurement } from './pipeline.ts';
import { printSection, summarize, toMarkdown, type BenchResults } from './report.ts';
import { benchForecastAtScale, benchSteadyEvaluation, benchStorageYear, SIZED_SETTINGS } from './scale.ts';
import { benchRetrainingCost } from './retraining-cost.ts';
import { benchSizes } from './sizes.ts';

const SECTIONS = [
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
  'accuracy',
  'cost',
] as const;
type SectionId = (typeof SECTIONS)[number];

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'bench') },
    'model-dir': { type: 'string', default: join(repoRoot, 'model-artifacts') },
    'data-dir': { type: 'string', default: resolve(repoRoot, '..', 'shared', 'data') },
    'database-url': { type: 'string' },
    only: { type: 'string' },
  },
});

const quick = args.quick!;
const only = new Set((args.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()) as SectionId[]);
for (const s of only)
  if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section "${s}" (${SECTIONS.join(', ')})`);
if (quick) only.delete('accuracy'); // no real data in the smoke run

async function main(): Promise<number> {
  const started = performance.now();
  // Bundles must live inside the repository so `onnxruntime-node` resolves from its node_modules.
  const workDir = join(repoRoot, 'bench', 'out', `run-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const sections: Section[] = [];
  const notes: string[] = [];
  let failed = 0;
  const loadAtStart = loadavg();
  const model = await findModel(args['model-dir']!);
  if (model.status === 'missing')
    notes.push(
      `model missing: no registry.json in ${relative(repoRoot, model.dir) || model.dir}; inference is not measured, accuracy only where a data set has its own model, the pipeline uses seasonal naive.`,
    );
  let server: BenchServer | undefined;
  const db = async () => (server ??= await startBenchServer(repoRoot, args['database-url']));
  // Ctrl-C must not leave the embedded PostgreSQL running.
  process.once('SIGINT', () => {
    void (server?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
  let hourly: HourlyMeasurement[] = [];
  let coldStartMs = NaN;
  // Measured by the storage section, read by the cost estimate.
  let bytesPerSeriesYear = NaN;
  const pipeline = async () => ({
    server: await db(),
    resolver: model.resolver,
    forecasterName: model.forecasterName,
    quick,
  });

  const run = async (id: SectionId, title: string, body: () => Promise<Section>) => {
    if (!only.has(id)) return;
    const t0 = performance.now();
    process.stdout.write(`\n[bench] ${title} …`);
    try {
      const section = await body();
      sections.push(section);
      printSection(section);
    } catch (error) {
      failed++;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`\n[bench] ${id} failed: ${message}`);
      sections.push({
        id,
        title,
        method: 'failed',
        figures: [
          skipped(id, title, '', `failed: ${String((error as Error).message ?? error).slice(0, 300)}`),
        ],
      });
    }
    console.log(`[bench] ${id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  try {
    await run('sizes', 'Deployment sizes', () => benchSizes(repoRoot, model.dir, workDir));
    await run('inference', 'Inference', () => benchInference(model, quick));
    await run('hourly', 'Hourly runs', async () => {
      const r = await benchHourly(await pipeline());
      hourly = r.measurements;
      return r.section;
    });
    await run('rollups', 'Hourly evaluation at steady state', async () => {
      // The sized server (SIZED_SETTINGS) only when the bench starts its servers itself; stopped after the section.
      let sized: BenchServer | undefined;
      try {
        return await benchSteadyEvaluation(await pipeline(), async () =>
          quick || args['database-url']
            ? undefined
            : (sized = await startBenchServer(repoRoot, undefined, SIZED_SETTINGS)),
        );
      } finally {
        await sized?.close();
      }
    });
    await run('scale', 'Hourly forecast run at scale', async () => benchForecastAtScale(await pipeline()));
    await run('storage', 'Storage after a simulated year', async () => {
      const r = await benchStorageYear(await pipeline());
      bytesPerSeriesYear = r.bytesPerSeriesYear;
      return r.section;
    });
    await run('backfill', 'Backfill', async () => benchBackfill(await pipeline()));
    await run('evaluation', 'Evaluation', async () => benchEvaluation(await pipeline()));
    await run('coldStart', 'Cold start', async () => {
      const r = await benchColdStart(repoRoot, workDir, await db(), model, quick);
      coldStartMs = r.medianMs;
      return r.section;
    });
    await run('modelCache', 'Model cache', () =>
      benchModelCache(repoRoot, model, quick ? [1, 10] : [1, 10, 100]),
    );
    await run('retraining', 'Retraining cycle', () => benchRetrainingCost(model, quick ? 2 : 10));
    await run('accuracy', 'Accuracy', () => benchAccuracy(model, args['data-dir']!));
    await run('cost', 'Cost', async () => {
      if (hourly.length === 0) throw new Error('the cost estimate needs the hourly section');
      if (!Number.isFinite(bytesPerSeriesYear))
        throw new Error('the cost estimate needs the storage section');
      return estimateCost(repoRoot, {
        hourly,
        coldStartMs: Number.isFinite(coldStartMs) ? coldStartMs : 1000,
        bytesPerSeriesYear,
      });
    });
  } finally {
    await server?.close();
    rmSync(workDir, { recursive: true, force: true });
  }

  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  notes.push(
    `Load average (1/5/15 min) at the start ${load(loadAtStart)}, at the end ${load(loadavg())}, on ${cpus().length} CPUs: ` +
      'other work on the machine inflates the timings; rerun on a quiet machine before quoting them.',
    `Node ${process.version} here; Lambda runs Node 22 on Graviton (arm64), so absolute times there differ.`,
  );
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    durationSeconds: (performance.now() - started) / 1000,
    machine: {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      memoryGb: Math.round(totalmem() / 1024 ** 3),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    model: {
      dir: model.dir.startsWith(repoRoot) ? relative(repoRoot, model.dir) || '.' : model.dir,
      version: model.version,
      status: model.status,
    },
    notes,
    sections,
    summary: summarize(sections),
  };
  const out = resolve(args.out!);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(out, 'results.md'), toMarkdown(results) + '\n');
  console.log(
    `\n[bench] ${results.summary.pass} targets met, ${results.summary.miss} missed; wrote ${join(out, 'results.json')} and results.md in ${results.durationSeconds.toFixed(0)} s`,
  );
  for (const m of results.summary.misses) console.log(`[bench] MISS ${m}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

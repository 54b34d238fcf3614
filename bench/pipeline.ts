import { availableParallelism } from 'node:os';
import { createPostgresStores } from '../src/adapters/postgres/stores.ts';
import { COPY_MIN_ORIGINS } from '../src/adapters/postgres/prediction-writes.ts';
import type { OriginForecast } from '../src/core/predictions.ts';
import { mulberry32 } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';
import { runBackfill } from '../src/core/use-cases/run-backfill.ts';
import { runEvaluation } from '../src/core/use-cases/run-evaluation.ts';
import type { ModelResolver } from '../src/core/forecasting.ts';
import { runForecast } from '../src/core/use-cases/run-forecast.ts';
import {
  bytesPerRow,
  createSeries,
  insertActuals,
  seedActuals,
  syntheticActuals,
  type BenchServer,
} from './database.ts';
import { figure, skipped, timing, TARGETS, type Figure, type Section } from './figures.ts';
import { insertOrigin, naiveBackfill, naiveEvaluation } from './naive.ts';
import { processCpuMs, RssHighWater, serverCpuMs, spreadOf, timeRuns } from './stats.ts';

/** Newest actual when an hourly scenario starts (an ordinary June Monday). */
const NOW = Date.UTC(2025, 5, 2, 0);
const MINUTE = 60_000;

export interface HourlyMeasurement {
  readonly series: number;
  readonly forecastMs: number;
  readonly evaluateMs: number;
  readonly peakRssMb: number;
}

export interface PipelineOptions {
  readonly server: BenchServer;
  readonly resolver: ModelResolver;
  readonly forecasterName: string;
  readonly quick: boolean;
}

/**
 * The scheduled hour end to end, as a warm container runs it: runForecast over every series (one read,
 * the model, one upsert, the run record), then runEvaluation. Each repetition is the next hour, with its
 * new actual already stored, so every run writes fresh rows instead of hitting the keyed upsert's no-op.
 */
export async function benchHourly(
  options: PipelineOptions,
): Promise<{ section: Section; measurements: HourlyMeasurement[] }> {
  const sizes = options.quick ? [1, 10] : [1, 100, 1000];
  const figures: Figure[] = [];
  const measurements: HourlyMeasurement[] = [];
  const details: Record<string, unknown> = {};
  for (const n of sizes) {
    const warmup = options.quick ? 1 : 2;
    const reps = options.quick ? 1 : n >= 1000 ? 7 : 10;
    const db = await options.server.createDatabase(`hourly_${n}`);
    const series = await createSeries(db.sql, n);
    const history = Math.max(options.resolver.maxWindowHours, 336) + 48;
    // Each hour's actual arrives just before its run (as ingest would store it), so the evaluation's
    // incremental scoring finds that hour's matured predictions, as in production.
    const actuals = syntheticActuals(series, NOW - history * HOUR_MS, NOW + (warmup + reps) * HOUR_MS);
    await insertActuals(db.sql, actuals, NOW - history * HOUR_MS, NOW - HOUR_MS);
    await db.sql`vacuum analyze actuals`;
    const store = createPostgresStores(db.sql);
    const forecastRuns: number[] = [];
    const evaluateRuns: number[] = [];
    const forecastQueries: number[] = [];
    const evaluateQueries: number[] = [];
    const summaries: { written: number; ok: number; fallback: number; failed: number }[] = [];
    const rss = new RssHighWater().start();
    for (let i = 0; i < warmup + reps; i++) {
      const hour = NOW + (i + 1) * HOUR_MS;
      await insertActuals(db.sql, actuals, hour - HOUR_MS, hour - HOUR_MS);
      db.queries.count = 0;
      let t0 = performance.now();
      const summary = await runForecast(store, options.resolver, {
        asOf: hour + 7 * MINUTE,
        trigger: 'bench',
      });
      const forecastMs = performance.now() - t0;
      const fq = db.queries.count;
      db.queries.count = 0;
      t0 = performance.now();
      await runEvaluation(store, { now: hour + 17 * MINUTE, trigger: 'bench' });
      const evaluateMs = performance.now() - t0;
      if (i < warmup) continue;
      forecastRuns.push(forecastMs);
      evaluateRuns.push(evaluateMs);
      forecastQueries.push(fq);
      evaluateQueries.push(db.queries.count);
      summaries.push({
        written: summary.forecastsWritten,
        ok: summary.okSeries,
        fallback: summary.fallbackSeries,
        failed: summary.failures.length,
      });
    }
    const peak = rss.stop();
    const f = spreadOf(forecastRuns);
    const e = spreadOf(evaluateRuns);
    const last = summaries[summaries.length - 1]!;
    const target = n === 1 ? TARGETS.warmRun1 : n === 1000 ? TARGETS.warmRun1000 : undefined;
    const note =
      `${options.forecasterName}; ${last.written} forecasts written per run` +
      (last.fallback || last.failed ? `, ${last.fallback} fallback, ${last.failed} failed series` : '');
    figures.push(timing(`hourly.forecast.${n}`, `Warm hourly forecast run, ${n} series`, f, target, note));
    figures.push(
      figure({
        id: `hourly.forecast.${n}.queries`,
        label: `Database round trips per forecast run, ${n} series`,
        value: Math.max(...forecastQueries),
        unit: 'queries',
        note: 'statements sent (postgres.js debug hook); constant in the number of series',
      }),
    );
    figures.push(
      timing(
        `hourly.evaluate.${n}`,
        `Warm hourly evaluation run, ${n} series`,
        e,
        undefined,
        'incremental scoring of the hour whose actual just arrived + rollup refresh (only a few hours of evaluations exist yet; see the steady-state rollup section)',
      ),
    );
    figures.push(
      figure({
        id: `hourly.evaluate.${n}.queries`,
        label: `Database round trips per evaluation run, ${n} series`,
        value: Math.max(...evaluateQueries),
        unit: 'queries',
      }),
    );
    figures.push(
      figure({
        id: `hourly.rss.${n}`,
        label: `Peak RSS of the bench process during the ${n}-series runs`,
        value: peak,
        unit: 'MB',
      }),
    );
    measurements.push({ series: n, forecastMs: f.median, evaluateMs: e.median, peakRssMb: peak });
    details[`series_${n}`] = { summaries, forecastQueries, evaluateQueries };
    if (n === sizes[sizes.length - 1]) {
      const bytesPerActual = await bytesPerRow(db.sql, 'actuals');
      figures.push(
        figure({
          id: 'storage.actual',
          label: 'Stored bytes per actual (table + indexes)',
          value: bytesPerActual,
          unit: 'B',
        }),
      );
    }
  }
  return {
    section: {
      id: 'hourly',
      title: 'Hourly run end to end (local PostgreSQL, ingest excluded)',
      method:
        'runForecast then runEvaluation from src/core/use-cases with the PostgreSQL stores (src/adapters/postgres/stores.ts) on the embedded PostgreSQL 17, ' +
        'a warm process (model loaded, connection open, 2 unmeasured runs first). Each repetition is the next hour. ' +
        'Round trips = statements counted with postgres.js `debug` (incl. the run record insert/update).',
      figures,
      details,
    },
    measurements,
  };
}

/** Backfill of a year (1-hour-ahead origins, every horizon stored) against the row-at-a-time version. */
export async function benchBackfill(options: PipelineOptions): Promise<Section> {
  const hours = options.quick ? 168 : 8760;
  const reps = options.quick ? 1 : 5;
  const db = await options.server.createDatabase('backfill');
  const [series] = await createSeries(db.sql, 1);
  const from = Date.UTC(2024, 0, 1);
  const to = from + (hours - 1) * HOUR_MS;
  const history = Math.max(options.resolver.maxWindowHours, 336) + 48;
  await seedActuals(db.sql, [series!], from - history * HOUR_MS, to);
  const store = createPostgresStores(db.sql);
  const clear = async () => {
    await db.sql`truncate scores, forecasts, error_hours, error_days, rolling_sums, rolling_window, error_sum_changes`;
  };
  const queries: number[] = [];
  const rss = new RssHighWater().start();
  // CPU of each run, in this process (JavaScript and ONNX Runtime's threads) and in the database server.
  const cpu: { process: number; server: number | null }[] = [];
  const backfill = async () => {
    db.queries.count = 0;
    const process0 = processCpuMs();
    const server0 = await serverCpuMs(db.sql);
    await runBackfill(store, options.resolver, { from, to, trigger: 'bench' });
    const server1 = await serverCpuMs(db.sql);
    cpu.push({
      process: processCpuMs() - process0,
      server: server0 === null || server1 === null ? null : server1 - server0,
    });
    queries.push(db.queries.count);
  };
  // The first run is timed on its own: it also makes the year's months and compiles the code paths.
  const first = await timeRuns({ repetitions: 1 }, backfill);
  cpu.length = 0;
  const setBased = await timeRuns({ repetitions: reps, before: clear }, backfill);
  const peak = rss.stop();
  const processCpu = spreadOf(cpu.map((c) => c.process));
  const serverCpu = cpu.every((c) => c.server !== null) ? spreadOf(cpu.map((c) => c.server!)) : null;
  const cores = availableParallelism();
  // No schedule of this work on `cores` cores ends sooner, however well it overlaps.
  const cpuFloor = serverCpu ? (processCpu.median + serverCpu.median) / cores : null;
  const [fast] = await db.sql<{ n: number; total: number }[]>`
    select count(*)::int as n, coalesce(sum(value), 0)::float8 as total from predictions`;
  const bytesPerPrediction = await bytesPerRow(db.sql, 'forecasts', 'predictions');
  // The write path alone: one backfill's forecasts written as runBackfill writes them (its batches, here one
  // after the other) and with one INSERT per origin, as bench/naive.ts writes them.
  const batches: OriginForecast[][] = [];
  await clear();
  await runBackfill(
    {
      ...store,
      forecasts: Object.assign(Object.create(store.forecasts) as typeof store.forecasts, {
        writeForecasts: (f: readonly OriginForecast[], runId: number | null) => {
          batches.push([...f]);
          return store.forecasts.writeForecasts(f, runId);
        },
      }),
    },
    options.resolver,
    { from, to, trigger: 'bench' },
  );
  const writes = await timeRuns({ repetitions: reps, before: clear }, async () => {
    for (const batch of batches) await store.forecasts.writeForecasts(batch, null);
  });
  await clear();
  const rowWritesStart = performance.now();
  for (const batch of batches) for (const f of batch) await insertOrigin(db.sql, f);
  const rowWrites = performance.now() - rowWritesStart;
  const [rowWritten] = await db.sql<{ n: number }[]>`select count(*)::int as n from forecasts`;
  await clear();
  db.queries.count = 0;
  const naive = await naiveBackfill(db.sql, store, options.resolver, {
    series: series!,
    from,
    to,
    budgetMs: options.quick ? 90_000 : 150_000,
  });
  const naiveQueries = db.queries.count;
  const [slow] = await db.sql<{ n: number; total: number }[]>`
    select count(*)::int as n, coalesce(sum(value), 0)::float8 as total from predictions`;
  const complete = naive.done === naive.total;
  const same =
    complete && fast!.n === slow!.n && Math.abs(fast!.total - slow!.total) <= 1e-6 * Math.abs(fast!.total);
  const naiveNote = complete
    ? `${naive.rowsWritten} rows, ${naiveQueries} statements; same rows as the set-based run: ${same ? 'yes' : 'NO'}`
    : `stopped after ${naive.done} of ${naive.total} origins (${(naive.ms / 1000).toFixed(1)} s), projected linearly; ${naiveQueries} statements so far`;
  return {
    id: 'backfill',
    title: `Backfill of ${hours.toLocaleString('en')} hours, one series`,
    method:
      'runBackfill (one history read, forecasts in equal batches of at most 4,096 origins, each batch written while the next is ' +
      'forecast, by a binary COPY into a temporary table and one INSERT … SELECT: one row per origin with the horizons as arrays, ' +
      'migration 0070) vs bench/naive.ts: one window query, a batch-of-one forecast and one INSERT of its row for each origin. ' +
      'Both store every horizon of every origin; rows are deleted between runs. The set-based figure is the median of the runs ' +
      'after the first, which is reported on its own (it also makes the months and meets the code cold).',
    figures: [
      timing(
        'backfill.setBased',
        `Backfill ${hours} h (${fast!.n.toLocaleString('en')} predictions written)`,
        setBased,
        hours === 8760 ? TARGETS.backfill8760 : undefined,
        `${options.forecasterName}; ${Math.max(...queries)} statements per run`,
      ),
      figure({
        id: 'backfill.first',
        label: 'First backfill of the process (months made, code cold)',
        value: first.median,
        unit: 'ms',
      }),
      figure({
        id: 'backfill.naive',
        label: 'Same backfill, row at a time',
        value: complete ? naive.ms : naive.projectedMs,
        unit: 'ms',
        note: naiveNote,
      }),
      figure({
        id: 'backfill.ratio',
        label: 'Row-at-a-time ÷ set-based',
        value: (complete ? naive.ms : naive.projectedMs) / setBased.median,
        unit: '×',
        target: hours === 8760 ? TARGETS.backfillRatio : undefined,
      }),
      timing(
        'backfill.processCpu',
        'CPU per set-based backfill, this process',
        processCpu,
        undefined,
        "JavaScript and ONNX Runtime's threads (process.cpuUsage)",
      ),
      serverCpu
        ? timing(
            'backfill.serverCpu',
            'CPU per set-based backfill, database server',
            serverCpu,
            undefined,
            "its processes' utime + stime (/proc)",
          )
        : skipped(
            'backfill.serverCpu',
            'CPU per set-based backfill, database server',
            'ms',
            "the server's processes are not readable here (not a local server)",
          ),
      figure({
        id: 'backfill.cpuFloor',
        label: `Shortest possible backfill on ${cores} cores: (process + server CPU) ÷ ${cores}`,
        value: cpuFloor,
        unit: 'ms',
        note:
          cpuFloor === null
            ? undefined
            : `the row-at-a-time run is ${((complete ? naive.ms : naive.projectedMs) / cpuFloor).toFixed(
                1,
              )}× this: the most any schedule of this work could reach here`,
      }),
      timing(
        'backfill.write',
        'Its write path alone: the same forecasts stored as runBackfill stores them',
        writes,
        undefined,
        `${batches.length} writes (binary COPY from ${COPY_MIN_ORIGINS.toLocaleString('en')} origins), one after the other`,
      ),
      figure({
        id: 'backfill.rowWrites',
        label: 'The same forecasts, one INSERT per origin',
        value: rowWrites,
        unit: 'ms',
        note: `${rowWritten!.n.toLocaleString('en')} rows`,
      }),
      figure({
        id: 'backfill.writeRatio',
        label: 'Write path: one INSERT per origin ÷ as runBackfill writes',
        value: rowWrites / writes.median,
        unit: '×',
      }),
      figure({
        id: 'backfill.rss',
        label: 'Peak RSS during the set-based backfill',
        value: peak,
        unit: 'MB',
      }),
      figure({
        id: 'storage.prediction',
        label: 'Stored bytes per prediction (table + indexes)',
        value: bytesPerPrediction,
        unit: 'B',
      }),
    ],
  };
}

/** Scoring a year of matured predictions set-based (one statement) against row-at-a-time. */
export async function benchEvaluation(options: PipelineOptions): Promise<Section> {
  const n = options.quick ? 240 : 8760;
  const reps = options.quick ? 1 : 5;
  const db = await options.server.createDatabase('evaluation');
  const [series] = await createSeries(db.sql, 1);
  const first = Date.UTC(2024, 0, 1);
  const last = first + (n - 1) * HOUR_MS;
  await seedActuals(db.sql, [series!], first - 48 * HOUR_MS, last);
  const actuals = await db.sql<{ ms: number; value: number }[]>`
    select extract(epoch from hour)::float8 * 1000 as ms, value from actuals
    where series_id = ${series!.id} and hour >= ${new Date(first)} order by hour`;
  const random = mulberry32(3);
  const forecasts: OriginForecast[] = actuals.map((a) => {
    const value = a.value * (1 + (random() - 0.5) * 0.03);
    return {
      seriesId: series!.id,
      modelVersion: 'bench-model',
      lastInputHour: a.ms - HOUR_MS,
      method: 'bench-model',
      issuedAt: a.ms,
      quality: 'ok',
      reason: null,
      horizons: 1,
      values: [value],
      lower: [value * 0.985],
      upper: [value * 1.015],
    };
  });
  const store = createPostgresStores(db.sql);
  await store.forecasts.writeForecasts(forecasts, null);
  await db.sql`analyze forecasts`;
  const now = last + HOUR_MS + 17 * MINUTE;
  const clear = async () => {
    await db.sql`truncate scores, error_hours, error_days, rolling_sums, rolling_window, error_sum_changes, metric_rollups`;
  };
  const queries: number[] = [];
  let scored = 0;
  const setBased = await timeRuns({ repetitions: reps, before: clear }, async () => {
    db.queries.count = 0;
    const summary = await runEvaluation(store, { now, trigger: 'bench', since: first });
    scored = summary.scored;
    queries.push(db.queries.count);
  });
  const check = () => db.sql<{ n: number; total: number }[]>`
    select count(*)::int as n, coalesce(sum(abs_error), 0)::float8 as total from evaluations`;
  const [fast] = await check();
  const bytesPerEvaluation = await bytesPerRow(db.sql, 'scores', 'evaluations');
  await clear();
  db.queries.count = 0;
  const naive = await naiveEvaluation(db.sql, store, {
    since: first,
    until: Math.floor(now / HOUR_MS) * HOUR_MS,
    now,
    budgetMs: options.quick ? 30_000 : 120_000,
  });
  const naiveQueries = db.queries.count;
  const [slow] = await check();
  const complete = naive.done === naive.total;
  const same = complete && fast!.n === slow!.n && Math.abs(fast!.total - slow!.total) <= 1e-6 * fast!.total;
  const naiveMs = complete ? naive.ms : naive.projectedMs;
  return {
    id: 'evaluation',
    title: `Evaluation of ${n.toLocaleString('en')} matured predictions`,
    method:
      'runEvaluation (one set-based scoring statement + the rollup refresh) vs bench/naive.ts: per prediction, ' +
      "look up the actual, the persistence actual and its target hour's scores, then one INSERT … ON CONFLICT of that row; " +
      'the same rollup refresh after. Evaluations and rollups are deleted between runs.',
    figures: [
      timing(
        'evaluation.setBased',
        `Evaluation of ${n} predictions (${scored} scored)`,
        setBased,
        n === 8760 ? TARGETS.evaluation8760 : undefined,
        `${Math.max(...queries)} statements per run`,
      ),
      figure({
        id: 'evaluation.naive',
        label: 'Same evaluation, row at a time',
        value: naiveMs,
        unit: 'ms',
        note: complete
          ? `${naiveQueries} statements; same evaluations as set-based: ${same ? 'yes' : 'NO'}`
          : `stopped after ${naive.done} of ${naive.total} (${(naive.ms / 1000).toFixed(1)} s), projected linearly`,
      }),
      figure({
        id: 'evaluation.ratio',
        label: 'Row-at-a-time ÷ set-based',
        value: naiveMs / setBased.median,
        unit: '×',
      }),
      figure({
        id: 'storage.evaluation',
        label: 'Stored bytes per evaluation (table + indexes)',
        value: bytesPerEvaluation,
        unit: 'B',
        note: 'one horizon per score row here; the hourly cycle stores rows of 24 (storage section)',
      }),
    ],
  };
}

export function skippedPipeline(reason: string): Section {
  return {
    id: 'hourly',
    title: 'Hourly run end to end',
    method: '',
    figures: [skipped('hourly', 'Hourly runs', 'ms', reason)],
  };
}

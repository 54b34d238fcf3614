import { join } from 'node:path';
import type { Command } from 'commander';
import { SCHEDULE_MINUTES } from '../../core/schedule.ts';
import { ensureDatabase } from '../../adapters/postgres/admin.ts';
import { connect, type Sql } from '../../adapters/postgres/client.ts';
import { createPostgresStores, type PostgresStores } from '../../adapters/postgres/stores.ts';
import { writeReport } from '../../adapters/report/index.ts';
import { runMigrations } from '../../adapters/postgres/migrate.ts';
import type { MetricsRow } from '../../adapters/postgres/metrics-report.ts';
import type { ActualRow } from '../../core/csv.ts';
import { InputError } from '../../core/errors.ts';
import type { ActualsSource } from '../../core/ports/actuals-source.ts';
import type { SeriesInfo } from '../../core/series.ts';
import { generateSyntheticSeries, SYNTHETIC_CALENDAR } from '../../core/synthetic.ts';
import { floorToHour, HOUR_MS, toIso } from '../../core/time.ts';
import { runIngest } from '../../core/use-cases/run-ingest.ts';
import { emit, note, say } from '../context.ts';
import { openHandlers, scheduledEvent, type LocalHandlers } from '../handlers.ts';
import { seriesDefaultsFor } from '../known-datasets.ts';
import { openDatabase, stopLocalDatabase, LOCAL_DATA_DIR } from '../local-database.ts';
import { PULSE_DIR } from '../paths.ts';
import { ProgressBar } from '../progress.ts';
import { formatMetrics, metricsRows } from './metrics.ts';
import { readActualsFile, reportProblems } from './import.ts';

export interface DemoOptions {
  /** The server to create the demo database on (default: DATABASE_URL's, else the local one). */
  readonly databaseUrl?: string;
  readonly csv?: string;
  readonly series?: string;
  readonly country?: string;
  readonly timezone?: string;
  /** Days replayed hour by hour through the scheduled handlers. */
  readonly days: number;
  /** Days backfilled before the replay. */
  readonly backfillDays: number;
  /** Hours after an hour ends before its actual is published. */
  readonly delayHours: number;
  readonly report?: string;
  readonly keepDb?: boolean;
  readonly verbose?: boolean;
}

/** What `pulse demo --json` prints: the steps' figures, the metrics rows and where the report is. */
export interface DemoResult {
  readonly series: string;
  readonly loadedHours: number;
  readonly backfill: {
    readonly from: string;
    readonly to: string;
    readonly forecastsWritten: number;
    readonly fallbackOrigins: number;
  };
  readonly replay: ReplayResult;
  readonly metrics: readonly MetricsRow[];
  /** The metrics as the table printed. */
  readonly table: string;
  readonly reportPath: string | null;
  readonly database: string;
  readonly seconds: number;
}

interface ReplayResult {
  readonly hours: number;
  readonly fallbackRuns: number;
  /** Mean milliseconds per replayed hour of each job. */
  readonly msPerHour: { readonly ingest: number; readonly forecast: number; readonly evaluate: number };
}

const DEMO_DATABASE = 'pulse_demo';
const minutes = (n: number) => n * 60_000;

/**
 * The whole pipeline on one machine: load a series, backfill a year, then replay the last days hour by
 * hour — ingest what would have been published, forecast at minute 7, evaluate at minute 17 — through the
 * same handlers the Lambda functions run, and print the metrics.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const { rows, series: definition } = await loadDemoData(options);
  if (rows.length < (options.days + 21) * 24) {
    throw new InputError(
      `the demo needs at least ${options.days + 21} days of hourly data; found ${rows.length} hours`,
    );
  }
  const local = await openDatabase({ log: note, url: options.databaseUrl });
  await local.close();
  // A fresh demo database each run, so the demo is repeatable and never touches the "pulse" database.
  const demoUrl = await ensureDatabase(local.url, DEMO_DATABASE, { recreate: true });
  const sql = connect(demoUrl);
  let handlers: LocalHandlers | undefined;
  try {
    await runMigrations(sql);
    const stores = createPostgresStores(sql);
    const [series] = await stores.series.ensureSeries([definition]);
    const lastHour = rows[rows.length - 1]!.hour;
    const replayStart = floorToHour(lastHour) - (options.days * 24 - 1) * HOUR_MS;
    const firstHour = rows[0]!.hour;
    const backfillFrom = Math.max(
      replayStart - options.backfillDays * 24 * HOUR_MS,
      firstHour + 15 * 24 * HOUR_MS,
    );

    const known = rows.filter((r) => r.hour < replayStart);
    await stores.actuals.upsertActuals(series!.id, known, replayStart);
    const years = [new Date(firstHour).getUTCFullYear(), new Date(lastHour).getUTCFullYear() + 1];
    await stores.holidays.sync(years[0]!, years[1]!);
    say(
      `loaded ${known.length} hours of ${series!.name} (${toIso(firstHour)} … ${toIso(replayStart - HOUR_MS)})`,
    );

    handlers = openHandlers(demoUrl, { verbose: options.verbose });
    const tBackfill = performance.now();
    const backfill = await handlers.jobs.backfill({
      kind: 'backfill',
      from: backfillFrom,
      to: replayStart - HOUR_MS,
      series: [series!.name],
    });
    await handlers.evaluate({ mode: 'evaluate', at: toIso(replayStart), since: toIso(backfillFrom) });
    say(
      `backfilled ${toIso(backfillFrom)} … ${toIso(replayStart - HOUR_MS)}: ${backfill.forecastsWritten} forecasts ` +
        `(${backfill.fallbackOrigins} fallback origins) and scored them in ${((performance.now() - tBackfill) / 1000).toFixed(1)} s`,
    );

    const replayed = await replay(stores, series!, handlers, rows, replayStart, lastHour, options);

    const metrics = await metricsRows(sql, { seriesNames: [series!.name] });
    const table = formatMetrics(metrics);
    say(
      `\nForecast accuracy of ${series!.name}, ${toIso(backfillFrom)} … ${toIso(lastHour)} (skill = 1 − Σ|error| / Σ|persistence error|):\n`,
    );
    say(table);
    const reportPath = await writeDemoReport(sql, series!.name, options.report);
    if (reportPath) say(`\nreport: ${reportPath}`);
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const database = demoUrl.replace(/:[^:@/]+@/, ':***@');
    const result: DemoResult = {
      series: series!.name,
      loadedHours: known.length,
      backfill: {
        from: toIso(backfillFrom),
        to: toIso(replayStart - HOUR_MS),
        forecastsWritten: backfill.forecastsWritten,
        fallbackOrigins: backfill.fallbackOrigins,
      },
      replay: replayed,
      metrics,
      table,
      reportPath,
      database,
      seconds,
    };
    emit(result, `done in ${seconds.toFixed(1)} s; data in database "${DEMO_DATABASE}" (${database})`);
    return result;
  } finally {
    await handlers?.close();
    await sql.end({ timeout: 2 });
    if (local.startedHere && !options.keepDb) await stopLocalDatabase(LOCAL_DATA_DIR);
  }
}

async function loadDemoData(
  options: DemoOptions,
): Promise<{ rows: ActualRow[]; series: { name: string; country: string | null; timezone: string } }> {
  if (options.csv) {
    const parsed = await readActualsFile(options.csv);
    reportProblems(parsed);
    return { rows: parsed.rows, series: seriesDefaultsFor(options.csv, options) };
  }
  const end = floorToHour(Date.now()) - 2 * HOUR_MS;
  const rows = generateSyntheticSeries({ from: end - 2 * 365 * 24 * HOUR_MS, to: end, seed: 7 });
  return {
    rows,
    series: {
      name: options.series ?? 'synthetic',
      country: options.country ?? SYNTHETIC_CALENDAR.country,
      timezone: options.timezone ?? SYNTHETIC_CALENDAR.timezone,
    },
  };
}

async function replay(
  stores: PostgresStores,
  series: SeriesInfo,
  handlers: LocalHandlers,
  rows: readonly ActualRow[],
  replayStart: number,
  lastHour: number,
  options: DemoOptions,
): Promise<ReplayResult> {
  const firstTick = replayStart + HOUR_MS;
  const lastTick = lastHour + (1 + options.delayHours) * HOUR_MS;
  const ticks = Math.round((lastTick - firstTick) / HOUR_MS) + 1;
  const progress = new ProgressBar(`replaying ${options.days} days`);
  let published = replayStart; // hours before this are public
  const source: ActualsSource = {
    name: 'demo-replay',
    // What the publisher would show at the time of the call: hours that ended `delayHours` ago.
    async fetch(range) {
      return rows.filter((r) => r.hour >= range.from && r.hour < range.to && r.hour < published);
    },
  };
  let fallbacks = 0;
  const spent = { ingest: 0, forecast: 0, evaluate: 0 };
  const timed = async <T>(job: keyof typeof spent, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await work();
    spent[job] += performance.now() - t;
    return result;
  };
  for (let i = 0, tick = firstTick; tick <= lastTick; i++, tick += HOUR_MS) {
    published = Math.min(tick - options.delayHours * HOUR_MS, lastHour + HOUR_MS);
    await timed('ingest', () =>
      runIngest(stores, source, {
        series,
        now: tick + minutes(SCHEDULE_MINUTES.ingest),
        trigger: 'schedule',
        trailingHours: 48,
      }),
    );
    const run = await timed('forecast', () =>
      handlers.jobs.forecast({ kind: 'scheduled', asOf: tick + minutes(SCHEDULE_MINUTES.forecast) }),
    );
    fallbacks += run.fallbackSeries;
    await timed('evaluate', () =>
      handlers.evaluate(scheduledEvent(tick + minutes(SCHEDULE_MINUTES.evaluate))),
    );
    progress.update(i + 1, ticks, `${toIso(tick)}${fallbacks ? ` · ${fallbacks} fallback runs` : ''}`);
  }
  const perHour = (ms: number) => Math.round(ms / ticks);
  const msPerHour = {
    ingest: perHour(spent.ingest),
    forecast: perHour(spent.forecast),
    evaluate: perHour(spent.evaluate),
  };
  say(
    `replayed ${ticks} hours; per hour: ingest ${msPerHour.ingest} ms, forecast ${msPerHour.forecast} ms, ` +
      `evaluate ${msPerHour.evaluate} ms`,
  );
  return { hours: ticks, fallbackRuns: fallbacks, msPerHour };
}

async function writeDemoReport(
  sql: Sql,
  seriesName: string,
  out = join(PULSE_DIR, 'report.html'),
): Promise<string | null> {
  try {
    return await writeReport(sql, { series: seriesName, out });
  } catch (error) {
    note(`report not written: ${(error as Error).message}`); // the metrics above stand on their own
    return null;
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline locally on synthetic data (or --csv FILE) and print the metrics')
    .option('--csv <file>', 'use this CSV of hourly actuals instead of synthetic data')
    .option('--series <name>', 'series name (default: synthetic, or the CSV file name)')
    .option('--country <code>', 'holiday calendar for the CSV series, e.g. TR')
    .option('--timezone <iana>', 'time zone for the CSV series, e.g. Europe/Istanbul')
    .option('--days <n>', 'days to replay hour by hour', (v) => positiveInt('days', v), 7)
    .option(
      '--backfill-days <n>',
      'days to backfill before the replay',
      (v) => positiveInt('backfill-days', v),
      365,
    )
    .option(
      '--delay-hours <n>',
      'publication delay of actuals after the hour ends',
      (v) => positiveInt('delay-hours', v, 0),
      1,
    )
    .option('--report <file>', 'where to write the HTML report (default: .pulse/report.html in the project)')
    .option('--keep-db', 'leave the local database running afterwards')
    .action(async (options: DemoOptions) => {
      await runDemo({ ...options, verbose: program.opts().verbose });
    });
}

function positiveInt(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new InputError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

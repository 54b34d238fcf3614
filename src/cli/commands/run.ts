import type { Command } from 'commander';
import { latestForecasts, type IssuedForecastRow } from '../../adapters/postgres/forecast-view.ts';
import { createPostgresStores, type PostgresStores } from '../../adapters/postgres/stores.ts';
import { localHour } from '../../core/calendar/localTime.ts';
import { isValidTimeZone } from '../../core/calendar/validate.ts';
import { InputError } from '../../core/errors.ts';
import type { SeriesInfo } from '../../core/series.ts';
import { floorToHour, HOUR_MS, toIso } from '../../core/time.ts';
import type { ForecastRunSummary } from '../../core/use-cases/run-forecast.ts';
import { backfillInChunks, evaluateInChunks } from '../../core/use-cases/run-in-chunks.ts';
import { DEFAULT_WINDOW_CHECKS } from '../../core/validation.ts';
import { emit, jsonOutput, note, withDatabase } from '../context.ts';
import { endOf, onTheHour, optionalTimeArg, parseTimeArg, startOf, zoneFor } from '../dates.ts';
import { withHandlers } from '../handlers.ts';
import { ProgressBar } from '../progress.ts';
import { selectSeries } from '../selection.ts';
import { fixed, formatTable } from '../table.ts';

const DEFAULT_CHUNK_DAYS = 30;

const positiveInt = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`--${flag} must be a whole number ≥ 1, got "${value}"`);
  return n;
};

/** The flags of the commands that work in chunks (backfill, evaluate --since). */
interface ChunkFlags {
  readonly chunkDays?: number;
  readonly restart?: boolean;
}

const chunkHoursOf = (flags: ChunkFlags) => (flags.chunkDays ?? DEFAULT_CHUNK_DAYS) * 24;

/** forecast, backfill and evaluate: the handlers' jobs and use cases, on the local (or DATABASE_URL) database. */
export function registerRunCommands(program: Command): void {
  program
    .command('forecast')
    .description('forecast every active series from its newest actuals, as the hourly schedule does')
    .option('--at <time>', 'run as of this time (default: now); a date is the start of that local day')
    .option('--series <names>', 'comma-separated series (default: all active)')
    .action(async (options: { at?: string; series?: string }) => {
      await withDatabase(async ({ sql, url }) => {
        const stores = createPostgresStores(sql);
        const { names, series } = await selectSeries(stores, options.series);
        const at = optionalTimeArg('at', options.at);
        const asOf = at ? startOf(at, zoneFor(series, [at])) : Date.now();
        const summary = await withHandlers(url, { verbose: program.opts().verbose }, (handlers) =>
          handlers.jobs.forecast(
            names ? { kind: 'forecast', asOf, series: names } : { kind: 'scheduled', asOf },
          ),
        );
        const issued = await latestForecasts(
          sql,
          series.map((s) => s.id),
          asOf,
        );
        emit({ ...summary, forecasts: issued }, describeForecastRun(summary, issued, asOf, series));
      });
    });

  program
    .command('backfill')
    .description(
      'forecast every hour of a range as if made at its time (only earlier actuals), in chunks that each commit',
    )
    .requiredOption('--from <time>', 'first target hour: a date (its first local hour) or an ISO time')
    .requiredOption('--to <time>', 'last target hour: a date (its last local hour) or an ISO time')
    .option('--series <names>', 'comma-separated series (default: all active)')
    .option('--chunk-days <n>', `days per chunk (default ${DEFAULT_CHUNK_DAYS})`, positiveInt('chunk-days'))
    .option('--restart', 'redo chunks an earlier run of this command completed (default: resume after them)')
    .action(async (options: ChunkFlags & { from: string; to: string; series?: string }) => {
      await withDatabase(async ({ sql, url }) => {
        const stores = createPostgresStores(sql);
        const { names, series } = await selectSeries(stores, options.series);
        if (series.length === 0)
          throw new InputError('no active series: import actuals with "pulse import FILE"');
        const fromArg = parseTimeArg('from', options.from);
        const toArg = parseTimeArg('to', options.to);
        const zone = zoneFor(series, [fromArg, toArg]);
        const requested = {
          from: onTheHour(fromArg, startOf(fromArg, zone)),
          to: onTheHour(toArg, endOf(toArg, zone)),
        };
        if (requested.to < requested.from)
          throw new InputError(`--to ${options.to} is before --from ${options.from}`);
        const { from, to } = await withinData(stores, series, requested, options);
        const hours = (to - from) / HOUR_MS + 1;
        const progress = new ProgressBar('backfill', jsonOutput());
        const totalOrigins = hours * series.length;
        let doneBefore = 0;
        const summary = await withHandlers(url, { verbose: program.opts().verbose }, (handlers) =>
          handlers.runtime.withStores(async (runStores) =>
            backfillInChunks(runStores, runStores.runs, await handlers.models.resolver(runStores), {
              from,
              to,
              seriesNames: names,
              trigger: 'manual',
              checks: {
                ...DEFAULT_WINDOW_CHECKS,
                staleAfterHours: handlers.runtime.config.staleAfterHours,
              },
              chunkHours: chunkHoursOf(options),
              restart: options.restart,
              onProgress: (done) => progress.update(doneBefore + done, totalOrigins, ''),
              onChunk: ({ chunk, skipped }) => {
                doneBefore += ((chunk.to - chunk.from) / HOUR_MS + 1) * series.length;
                progress.update(doneBefore, totalOrigins, skipped ? `(${chunk.key} done before)` : '');
              },
            }),
          ),
        );
        emit(
          { from: toIso(from), to: toIso(to), ...summary },
          `backfilled ${toIso(from)} … ${toIso(to)} for ${series.length} series in ${summary.chunks} chunks` +
            (summary.skippedChunks ? ` (${summary.skippedChunks} completed earlier, skipped)` : '') +
            `: ${summary.forecastsWritten} forecasts written, ${summary.fallbackOrigins} fallback origins, ` +
            `${summary.failedOrigins} failed` +
            (summary.failedSeries.length ? `; not stored for ${summary.failedSeries.join(', ')}` : '') +
            `\nscore them with: pulse evaluate --since ${toIso(from)} --until ${toIso(to)}`,
        );
      });
    });

  program
    .command('evaluate')
    .description('score matured forecasts, re-score revised ones, refresh rolling metrics')
    .option('--at <time>', 'evaluate as of this time (default: now)')
    .option('--since <time>', 're-score every target hour from this time, in chunks that each commit')
    .option('--until <time>', 'last target hour to re-score with --since (default: --at)')
    .option(
      '--chunk-days <n>',
      `days per chunk with --since (default ${DEFAULT_CHUNK_DAYS})`,
      positiveInt('chunk-days'),
    )
    .option('--restart', 'with --since: redo chunks an earlier run completed (default: resume after them)')
    .action(async (options: ChunkFlags & { at?: string; since?: string; until?: string }) => {
      await withDatabase(async ({ sql, url }) => {
        const stores = createPostgresStores(sql);
        const { series } = await selectSeries(stores, undefined);
        const at = optionalTimeArg('at', options.at);
        const since = optionalTimeArg('since', options.since);
        const until = optionalTimeArg('until', options.until);
        if (until && !since)
          throw new InputError('--until needs --since (the hourly evaluation has no range)');
        const zone = zoneFor(series, [at, since, until]);
        const now = at ? startOf(at, zone) : Date.now();
        if (!since) {
          const result = await withHandlers(url, { verbose: program.opts().verbose }, (handlers) =>
            handlers.evaluate({ mode: 'evaluate', at: toIso(now) }),
          );
          emit(result, `scored ${result.scored}, re-scored ${result.rescored}`);
          return;
        }
        const first = startOf(since, zone);
        const last = Math.min(until ? endOf(until, zone) : now, floorToHour(now));
        if (last < first)
          throw new InputError(`--until ${options.until ?? toIso(now)} is before --since ${options.since}`);
        const progress = new ProgressBar('evaluate', jsonOutput());
        const summary = await withHandlers(url, { verbose: program.opts().verbose }, (handlers) =>
          handlers.runtime.withStores((runStores) =>
            evaluateInChunks(runStores, runStores.runs, {
              since: floorToHour(first),
              until: floorToHour(last),
              now,
              trigger: 'manual',
              chunkHours: chunkHoursOf(options),
              restart: options.restart,
              onChunk: ({ index, total, chunk, skipped }) =>
                progress.update(index + 1, total, skipped ? `(${chunk.key} done before)` : chunk.key),
            }),
          ),
        );
        const { last: lastChunk, ...counts } = summary;
        emit(
          { ...counts, worstRollingMape24h: lastChunk.worstRollingMape24h },
          `scored ${summary.scored}, re-scored ${summary.rescored} in ${summary.chunks} chunks` +
            (summary.skippedChunks ? ` (${summary.skippedChunks} completed earlier, skipped)` : ''),
        );
      });
    });
}

/**
 * Clamps a backfill to where the data is: origins before a series' first actual have no history, and
 * hours after its newest actual + 1 cannot be forecast "as of their time". A range with no data at all is
 * an error; a partial one is said on stderr.
 */
async function withinData(
  stores: PostgresStores,
  series: readonly SeriesInfo[],
  range: { from: number; to: number },
  flags: { from: string; to: string },
): Promise<{ from: number; to: number }> {
  const spans = [...(await stores.series.actualsSpan(series.map((s) => s.id))).values()];
  if (spans.length === 0) throw new InputError('the series have no actuals yet: nothing to backfill');
  const first = Math.min(...spans.map((s) => s.first)) + HOUR_MS; // the first hour with an earlier actual
  const last = Math.max(...spans.map((s) => s.last)) + HOUR_MS;
  if (range.to < first || range.from > last) {
    throw new InputError(
      `--from ${flags.from} --to ${flags.to}: the data covers ${toIso(first - HOUR_MS)} … ${toIso(last - HOUR_MS)}; ` +
        `nothing to backfill in that range`,
    );
  }
  const from = Math.max(range.from, first);
  const to = Math.min(range.to, last);
  if (from !== range.from || to !== range.to) {
    note(
      `backfill: ${((from - range.from + range.to - to) / HOUR_MS).toFixed(0)} hours of the range lie outside the data ` +
        `(${toIso(first - HOUR_MS)} … ${toIso(last - HOUR_MS)}); backfilling ${toIso(from)} … ${toIso(to)}`,
    );
  }
  return { from, to };
}

/** What `pulse forecast` prints: the run, staleness in plain words, and each series' next 24 hours. */
export function describeForecastRun(
  summary: ForecastRunSummary,
  issued: readonly IssuedForecastRow[],
  asOf: number,
  series: readonly SeriesInfo[],
): string {
  const lines: string[] = [];
  lines.push(
    `forecast run ${summary.runId} as of ${toIso(asOf)}: ${summary.seriesCount} series, ` +
      `${summary.okSeries} by the model, ${summary.fallbackSeries} fallback, ${summary.failures.length} failed; ` +
      `${summary.forecastsWritten} forecasts written`,
  );
  if (summary.seriesCount === 0) {
    lines.push(
      series.length === 0
        ? 'no series yet: import actuals with "pulse import FILE"'
        : 'no series has actuals before that time',
    );
  }
  const bySeries = new Map<string, IssuedForecastRow[]>();
  for (const row of issued) {
    let list = bySeries.get(row.series);
    if (!list) bySeries.set(row.series, (list = []));
    list.push(row);
  }
  const shown = [...bySeries].slice(0, 5);
  for (const [name, rows] of shown) {
    const head = rows[0]!;
    const ageHours = (asOf - (head.lastInputHour + HOUR_MS)) / HOUR_MS;
    lines.push('');
    lines.push(
      `${name}: next ${rows.length} hours from ${toIso(head.lastInputHour + HOUR_MS)} (local time ${head.timezone})`,
    );
    if (ageHours > DEFAULT_WINDOW_CHECKS.staleAfterHours) lines.push(`  ${staleness(ageHours)}`);
    else if (head.quality !== 'ok')
      lines.push(`  these are fallback forecasts: ${head.reason ?? head.method}`);
    else if (ageHours >= 2) lines.push(`  newest actual is ${age(ageHours)} old`);
    lines.push(
      formatTable(
        ['target hour (UTC)', 'local', 'h', 'forecast', '10 %', '90 %', 'quality'],
        rows.map((r) => {
          // A series stored with a broken zone still gets its table (its hours shown in UTC only).
          const local = isValidTimeZone(r.timezone) ? localHour(r.timezone, r.targetHour) : null;
          return [
            toIso(r.targetHour).slice(0, 16).replace('T', ' '),
            local ? `${String(local.hour).padStart(2, '0')}:00` : null,
            r.horizon,
            fixed(r.value, 0),
            fixed(r.lower, 0),
            fixed(r.upper, 0),
            r.quality === 'ok' ? r.method : `${r.quality} (${r.method})`,
          ];
        }),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  if (bySeries.size > shown.length)
    lines.push(`\n… and ${bySeries.size - shown.length} more series (--json shows all)`);
  return lines.join('\n');
}

function age(hours: number): string {
  return hours >= 48 ? `${Math.round(hours / 24)} days` : `${Math.round(hours)} hours`;
}

/** Staleness in plain words: how old the newest actual is, and what that makes these forecasts. */
function staleness(hours: number): string {
  return (
    `newest actual is ${age(hours)} old: a run now makes fallback forecasts` +
    (hours >= 24 ? ', for hours already past; import newer actuals to forecast the coming hours' : '')
  );
}

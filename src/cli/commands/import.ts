import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createPostgresStores } from '../../adapters/postgres/stores.ts';
import { isKnownCountry, isValidTimeZone } from '../../core/calendar/validate.ts';
import { formatProblem, parseActualsCsv, type ParsedActuals } from '../../core/csv.ts';
import { InputError } from '../../core/errors.ts';
import type { Sql } from '../../adapters/postgres/client.ts';
import { emit, note, withDatabase } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { seriesDefaultsFor } from '../known-datasets.ts';
import { formatTable } from '../table.ts';

export interface ImportOptions {
  readonly series?: string;
  readonly column?: string;
  readonly country?: string;
  readonly timezone?: string;
}

export interface ImportResult {
  readonly seriesName: string;
  readonly importId: number;
  readonly parsed: ParsedActuals;
  readonly inserted: number;
  readonly revised: number;
  readonly unchanged: number;
  /** The calendar change applied to an existing series (--country/--timezone), if any. */
  readonly calendarChange: string | null;
}

export async function readActualsFile(file: string, column?: string): Promise<ParsedActuals> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseActualsCsv(text, { file, valueColumn: column });
}

/** --country and --timezone are checked where they enter, naming the flag. */
export function checkCalendarFlags(options: { country?: string; timezone?: string }): void {
  if (options.timezone !== undefined && !isValidTimeZone(options.timezone)) {
    throw new InputError(
      `--timezone "${options.timezone}" is not an IANA time zone (e.g. Europe/Istanbul, America/New_York, UTC)`,
    );
  }
  if (options.country !== undefined && !isKnownCountry(options.country)) {
    throw new InputError(
      `--country "${options.country}" has no holiday calendar: use an ISO 3166 code such as TR, US or ES`,
    );
  }
}

/**
 * Imports a CSV of actuals as one recorded import: good rows are upserted (a changed value is a counted
 * revision that keeps the old value as an earlier version), bad rows reported. A file without one
 * accepted row changes nothing and creates no series.
 */
export async function importActuals(
  sql: Sql,
  file: string,
  options: ImportOptions,
  now: number,
): Promise<ImportResult> {
  checkCalendarFlags(options);
  const parsed = await readActualsFile(file, options.column);
  if (parsed.rows.length === 0) {
    reportProblems(parsed);
    throw new InputError(
      `${file}: no line was accepted (${parsed.problems.length} rejected): nothing imported, no series created`,
    );
  }
  const defaults = seriesDefaultsFor(file, options);
  const stores = createPostgresStores(sql);
  const [existing] = await stores.series.findSeries([defaults.name]);
  let calendarChange: string | null = null;
  if (existing && (options.country !== undefined || options.timezone !== undefined)) {
    const change = await stores.series.changeCalendar(existing, {
      country: options.country,
      timezone: options.timezone,
    });
    if (change) {
      const text = (c: { country: string | null; timezone: string }) =>
        `${c.timezone}, ${c.country ?? 'no holidays'}`;
      calendarChange =
        `series ${existing.name}: calendar ${text(change.before)} → ${text(change.after)}; forecasts already ` +
        `stored stay as issued, the next runs use the new calendar, holidays are refilled`;
    }
  }
  const [series] = existing ? [existing] : await stores.series.ensureSeries([defaults]);
  const record = await stores.imports.importRows({
    seriesId: series!.id,
    source: file,
    rows: parsed.rows,
    rejected: parsed.problems.length,
    receivedAt: now,
  });
  await stores.holidays.fill(now);
  return { seriesName: series!.name, parsed, calendarChange, ...record };
}

export function reportProblems(parsed: ParsedActuals, limit = 20): void {
  for (const p of parsed.problems.slice(0, limit)) note(formatProblem(p));
  if (parsed.problems.length > limit) note(`… and ${parsed.problems.length - limit} more rejected lines`);
}

interface ImportFlags extends ImportOptions {
  readonly undo?: string;
  readonly list?: boolean;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .argument(
      '[file]',
      'CSV with a ts_utc column (ISO 8601 with Z or offset, hour starts) and a value column',
    )
    .description(
      'import hourly actuals; bad lines are reported and skipped, a revised value keeps its earlier version',
    )
    .option('--series <name>', 'series to import into (default: the file name)')
    .option('--column <name>', 'value column (default: the second column)')
    .option('--country <code>', 'holiday calendar, e.g. TR, US, ES (applied to an existing series too)')
    .option('--timezone <iana>', 'local time zone, e.g. Europe/Istanbul (applied to an existing series too)')
    .option('--undo <import id>', 'undo an import: restore the values it replaced, remove the hours it added')
    .option('--list', 'list the newest imports with their ids')
    .action(async (file: string | undefined, flags: ImportFlags) => {
      if (flags.undo !== undefined) {
        const id = Number(flags.undo);
        if (!Number.isSafeInteger(id) || id <= 0)
          throw new InputError(
            `--undo "${flags.undo}" is not an import id ("pulse import --list" shows them)`,
          );
        await withDatabase(async ({ sql }) => {
          const undone = await createPostgresStores(sql).imports.undo(id, Date.now());
          emit(
            undone,
            `undid import ${undone.importId} (${undone.source} into ${undone.seriesName}): ` +
              `${undone.restored} hours have their previous value again, ${undone.removed} added hours removed; ` +
              `run "pulse evaluate" to re-score them`,
          );
        });
        return;
      }
      if (flags.list) {
        await withDatabase(async ({ sql }) => {
          const imports = await createPostgresStores(sql).imports.list();
          emit(
            { imports },
            imports.length === 0
              ? 'no imports yet'
              : formatTable(
                  ['id', 'series', 'file', 'received', 'new', 'revised', 'unchanged', 'rejected', 'undone'],
                  imports.map((i) => [
                    i.id,
                    i.series,
                    i.source,
                    i.receivedAt.toISOString().slice(0, 16) + 'Z',
                    i.inserted,
                    i.revised,
                    i.unchanged,
                    i.rejected,
                    i.undoneAt ? i.undoneAt.toISOString().slice(0, 16) + 'Z' : '',
                  ]),
                ),
          );
        });
        return;
      }
      if (file === undefined) throw new InputError('import: name a CSV file (or use --undo ID or --list)');
      await withDatabase(async ({ sql }) => {
        const result = await importActuals(sql, file, flags, Date.now());
        reportProblems(result.parsed);
        if (result.calendarChange) note(result.calendarChange);
        const { parsed, ...counts } = result;
        emit(
          { ...counts, rejected: parsed.problems.length },
          `${result.seriesName}: ${result.inserted} new, ${result.revised} revised, ${result.unchanged} unchanged, ` +
            `${parsed.problems.length} rejected lines (import ${result.importId}; ` +
            `undo with "pulse import --undo ${result.importId}")`,
          parsed.problems.length > 0 ? EXIT.failure : EXIT.ok,
        );
      });
    });
}

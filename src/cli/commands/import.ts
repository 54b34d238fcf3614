import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createPostgresStores } from '../../adapters/postgres/stores.ts';
import { formatProblem, parseActualsCsv, type ParsedActuals } from '../../core/csv.ts';
import { InputError } from '../../core/errors.ts';
import type { Sql } from '../../adapters/postgres/client.ts';
import { note, say, withDatabase } from '../context.ts';
import { seriesDefaultsFor } from '../known-datasets.ts';

export interface ImportOptions {
  readonly series?: string;
  readonly column?: string;
  readonly country?: string;
  readonly timezone?: string;
}

export interface ImportResult {
  readonly seriesName: string;
  readonly parsed: ParsedActuals;
  readonly inserted: number;
  readonly revised: number;
  readonly unchanged: number;
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

/** Imports a CSV of actuals: good rows are upserted (a changed value is a counted revision), bad rows reported. */
export async function importActuals(
  sql: Sql,
  file: string,
  options: ImportOptions,
  now: number,
): Promise<ImportResult> {
  const parsed = await readActualsFile(file, options.column);
  const defaults = seriesDefaultsFor(file, options);
  const stores = createPostgresStores(sql);
  const [series] = await stores.series.ensureSeries([defaults]);
  const counts = await stores.actuals.upsertActuals(series!.id, parsed.rows, now);
  return { seriesName: series!.name, parsed, ...counts };
}

export function reportProblems(parsed: ParsedActuals, limit = 20): void {
  for (const p of parsed.problems.slice(0, limit)) note(formatProblem(p));
  if (parsed.problems.length > limit) note(`… and ${parsed.problems.length - limit} more rejected lines`);
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .argument(
      '<file>',
      'CSV with a ts_utc column (ISO 8601 with Z or offset, hour starts) and a value column',
    )
    .description('import hourly actuals; bad lines are reported and skipped, stored data is never lost')
    .option('--series <name>', 'series to import into (default: the file name)')
    .option('--column <name>', 'value column (default: the second column)')
    .option('--country <code>', 'holiday calendar of a new series, e.g. TR, US, ES')
    .option('--timezone <iana>', 'local time zone of a new series, e.g. Europe/Istanbul')
    .action(async (file: string, options: ImportOptions) => {
      await withDatabase(async ({ sql }) => {
        const result = await importActuals(sql, file, options, Date.now());
        reportProblems(result.parsed);
        say(
          `${result.seriesName}: ${result.inserted} new, ${result.revised} revised, ${result.unchanged} unchanged, ` +
            `${result.parsed.problems.length} rejected lines`,
        );
        if (result.parsed.problems.length > 0) process.exitCode = 1;
      });
    });
}

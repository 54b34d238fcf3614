import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PostgresWeatherStore } from '../../adapters/postgres/weather-store.ts';
import type { Sql } from '../../adapters/postgres/client.ts';
import { InputError } from '../../core/errors.ts';
import type { WeatherValue, WeatherWriteResult } from '../../core/ports/weather.ts';
import { HOUR_MS } from '../../core/time.ts';
import {
  formatProblem,
  parseLocationsCsv,
  parseWeatherCsv,
  type ParsedWeather,
} from '../../core/weather-csv.ts';
import { emit, note, withDatabase } from '../context.ts';
import { EXIT } from '../exit-codes.ts';

export interface WeatherImportOptions {
  /** CSV of the locations (location, latitude, longitude, weight); needed for locations not yet stored. */
  readonly locations?: string;
  /** Series that follows these locations with the file's weights (replaces its previous ones). */
  readonly series?: string;
}

export interface WeatherImportResult extends WeatherWriteResult {
  readonly parsed: ParsedWeather;
  readonly locations: number;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/**
 * Imports observed hourly weather (a wide CSV such as turkey_weather.csv): every cell becomes an observed
 * value (issued at its valid hour). Importing the same file again changes nothing; a changed cell is a
 * counted revision; bad cells are reported and skipped.
 */
export async function importWeather(
  sql: Sql,
  file: string,
  options: WeatherImportOptions,
): Promise<WeatherImportResult> {
  const parsed = parseWeatherCsv(await readText(file), { file });
  const store = new PostgresWeatherStore(sql);
  const names = [...new Set(parsed.columns.map((c) => c.location))];
  if (options.series && !options.locations)
    throw new InputError('--series needs --locations FILE: the weights come from that file');
  if (options.locations) {
    const locations = parseLocationsCsv(await readText(options.locations), { file: options.locations });
    await store.upsertWeatherLocations(locations);
    if (options.series) {
      const [series] = await sql<{ id: number }[]>`select id from series where name = ${options.series}`;
      if (!series)
        throw new InputError(
          `--series "${options.series}" does not exist; import its actuals first with "pulse import"`,
        );
      await store.setSeriesWeatherLocations(series.id, locations);
    }
  }
  const known = new Set(
    (
      await sql<{ name: string }[]>`select name from weather_locations where name = any(${names}::text[])`
    ).map((r) => r.name),
  );
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new InputError(
      `${file}: location${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not known; pass --locations FILE with their latitude and longitude`,
    );
  }
  const values: WeatherValue[] = [];
  parsed.columns.forEach((c, ci) => {
    const series = parsed.values[ci]!;
    for (let k = 0; k < parsed.hours; k++) {
      const v = series[k]!;
      if (!Number.isNaN(v))
        values.push({
          location: c.location,
          variable: c.variable,
          validHour: parsed.start + k * HOUR_MS,
          value: v,
        });
    }
  });
  const result = await store.writeWeather({
    kind: 'observed',
    source: `import:${file.split('/').pop()}`,
    values,
  });
  return { ...result, parsed, locations: names.length };
}

export function registerImportWeatherCommand(program: Command): void {
  program
    .command('import-weather')
    .argument(
      '<file>',
      'CSV: ts_utc,<location>_t2m,<location>_rh,<location>_cloud,… (observed hourly weather)',
    )
    .description('import observed hourly weather by location; bad cells are reported and skipped')
    .option('--locations <file>', 'CSV: location,latitude,longitude,weight (or share_of_covered_population)')
    .option('--series <name>', "make the series follow these locations with the file's weights")
    .action(async (file: string, options: WeatherImportOptions) => {
      await withDatabase(async ({ sql }) => {
        const result = await importWeather(sql, file, options);
        const problems = result.parsed.problems;
        for (const p of problems.slice(0, 20)) note(formatProblem(p));
        if (problems.length > 20) note(`… and ${problems.length - 20} more rejected cells`);
        const { parsed: _parsed, ...counts } = result;
        emit(
          { ...counts, rejected: problems.length },
          `weather: ${result.locations} locations, ${result.inserted} new, ${result.revised} revised, ` +
            `${result.unchanged} unchanged values, ${problems.length} rejected`,
          problems.length > 0 ? EXIT.failure : EXIT.ok,
        );
      });
    });
}

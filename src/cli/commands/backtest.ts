import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createModelResolver } from '../../adapters/model-resolver.ts';
import { OnnxForecaster } from '../../adapters/onnx/forecaster.ts';
import { formatBacktestTable, runBacktest, summarizeBacktest } from '../../core/backtest.ts';
import { persistence, seasonalNaive168, seasonalNaive24 } from '../../core/baselines.ts';
import { formatProblem } from '../../core/csv.ts';
import { InputError } from '../../core/errors.ts';
import type { Forecaster, SeriesCalendar } from '../../core/forecaster.ts';
import { toHourlySeries } from '../../core/hourly-series.ts';
import { HOUR_MS, toIso } from '../../core/time.ts';
import { endOf, parseTimeArg, startOf } from '../dates.ts';
import { seriesDefaultsFor } from '../known-datasets.ts';
import { checkCalendarFlags, readActualsFile } from './import.ts';
import { MODEL_DIR } from '../paths.ts';
import type { Sql } from '../../adapters/postgres/client.ts';
import { createPostgresStores } from '../../adapters/postgres/stores.ts';
import { PostgresWeatherStore } from '../../adapters/postgres/weather-store.ts';
import type { BacktestReport, BacktestSummary } from '../../core/backtest.ts';
import type { HourMs } from '../../core/time.ts';
import type { WindowWeather } from '../../core/weather.ts';
import { describeBacktestWeather, storedBacktestWeather } from '../backtest-weather.ts';
import { emit, jsonOutput, note, say, withDatabase } from '../context.ts';

export interface BacktestFlags {
  csv: string;
  from: string;
  to: string;
  model?: string;
  modelDir: string;
  /** true (bare --json) or '-': print only; a file: also write the report there. */
  json?: string | true;
  country?: string;
  timezone?: string;
  /** Weather models: the weather locations configured for this series instead of the model's. */
  series?: string;
}

export interface BacktestOutcome {
  readonly forecaster: Forecaster;
  readonly calendar: SeriesCalendar;
  readonly report: BacktestReport;
  readonly summary: BacktestSummary;
}

const BASELINES: Record<string, Forecaster> = {
  persistence,
  'seasonal-naive-24h': seasonalNaive24,
  'seasonal-naive-168h': seasonalNaive168,
};

const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** The weather of each origin for a weather model, from the store (see storedBacktestWeather). */
async function weatherOf(
  sql: Sql,
  forecaster: Forecaster,
  declared: readonly { name: string; weight: number }[],
  flags: BacktestFlags,
  from: HourMs,
  to: HourMs,
): Promise<(origin: HourMs) => WindowWeather> {
  let locations: readonly { name: string; weight: number }[];
  let locationsFrom: string;
  if (flags.series) {
    const [series] = await createPostgresStores(sql).series.findSeries([flags.series]);
    if (!series) throw new InputError(`--series "${flags.series}" does not exist`);
    locations =
      (await new PostgresWeatherStore(sql).seriesWeatherLocations([series.id])).get(series.id) ?? [];
    if (locations.length === 0)
      throw new InputError(`--series "${flags.series}" has no weather locations configured`);
    locationsFrom = `series ${flags.series}`;
  } else {
    locations = declared;
    if (locations.length === 0)
      throw new InputError(`model ${forecaster.version} declares no weather locations; pass --series NAME`);
    locationsFrom = 'model metadata';
  }
  return storedBacktestWeather(sql, {
    model: forecaster.version,
    locations,
    locationsFrom,
    from,
    to,
    horizons: forecaster.horizons,
  });
}

/**
 * Rolling-origin evaluation of a model (or a baseline) on a CSV of actuals. A weather model gets, at each
 * origin, the weather forecast stored at that time, else observed weather (`report.weather` counts which).
 * `deps.sql`: the database to read weather from (default: the CLI's).
 */
export async function backtest(flags: BacktestFlags, deps: { sql?: Sql } = {}): Promise<BacktestOutcome> {
  const baseline = flags.model ? BASELINES[flags.model] : undefined;
  let forecaster: Forecaster;
  let declared: readonly { name: string; weight: number }[] = [];
  checkCalendarFlags(flags);
  // The calendar of a known data set (PJME is New York, as import and demo know), unless flags say otherwise.
  const known = seriesDefaultsFor(flags.csv, {});
  const knownCalendar = known.country !== null ? known : undefined;
  let calendar: SeriesCalendar;
  if (baseline) {
    forecaster = baseline;
    calendar = {
      country: flags.country ?? knownCalendar?.country ?? null,
      timezone: flags.timezone ?? knownCalendar?.timezone ?? 'UTC',
    };
  } else {
    // Through the resolver, as the forecast run loads it: a weather model comes with its calendar-only
    // model, which serves its first horizons when the metadata says so (weather.calendarHorizons).
    const resolver = await createModelResolver({
      modelDir: flags.modelDir,
      ...(flags.model ? { defaultVersion: flags.model } : {}),
    });
    const model = resolver.defaultForecaster;
    if (!(model instanceof OnnxForecaster))
      throw new InputError(`--model ${flags.model ?? '(registry default)'} is not a trained model`);
    forecaster = model;
    declared = model.metadata.weather?.locations ?? [];
    calendar = {
      country: flags.country ?? knownCalendar?.country ?? model.metadata.calendar.country,
      timezone: flags.timezone ?? knownCalendar?.timezone ?? model.metadata.calendar.timezone,
    };
  }
  const parsed = await readActualsFile(flags.csv);
  for (const p of parsed.problems.slice(0, 5)) note(`skipped ${formatProblem(p)}`);
  const series = toHourlySeries(parsed.rows);
  const from = floorHour(startOf(parseTimeArg('from', flags.from), calendar.timezone));
  const to = floorHour(endOf(parseTimeArg('to', flags.to), calendar.timezone));
  if (to < from) throw new InputError(`--to ${flags.to} is before --from ${flags.from}`);
  const weatherFor =
    forecaster.weather !== undefined
      ? await (deps.sql
          ? weatherOf(deps.sql, forecaster, declared, flags, from, to)
          : withDatabase(({ sql }) => weatherOf(sql, forecaster, declared, flags, from, to)))
      : undefined;
  const report = await runBacktest(series, {
    forecaster,
    calendar,
    from,
    to,
    ...(weatherFor ? { weatherFor } : {}),
  });
  if (report.origins === 0)
    throw new InputError(
      `no complete windows with actuals between ${toIso(from)} and ${toIso(to)} in ${flags.csv}`,
    );
  return { forecaster, calendar, report, summary: summarizeBacktest(report) };
}

/** `pulse backtest`: rolling-origin evaluation of a model (or a baseline) on a CSV of actuals. */
export function registerBacktestCommand(program: Command): Command {
  return program
    .command('backtest')
    .description(
      'rolling-origin evaluation of the model against persistence and seasonal naive on a CSV of hourly actuals',
    )
    .requiredOption('--csv <file>', 'hourly actuals, header ts_utc,<value>')
    .requiredOption('--from <date>', 'first target day (YYYY-MM-DD, series-local) or ISO time')
    .requiredOption('--to <date>', 'last target day (YYYY-MM-DD, series-local, inclusive) or ISO time')
    .option(
      '--model <version>',
      'model version in --model-dir (default: the registry default), or persistence | seasonal-naive-24h | seasonal-naive-168h',
    )
    .option('--model-dir <dir>', 'directory with <version>.onnx/.json and registry.json', MODEL_DIR)
    .option(
      '--json [file]',
      'print the full report as one JSON object on stdout (the table goes to stderr); with a file, write it there too',
    )
    .option(
      '--country <code>',
      "holiday calendar (default: the data set's if known, e.g. PJME → US, else the model's)",
    )
    .option('--timezone <iana>', "local time zone (default: the model metadata's)")
    .option(
      '--series <name>',
      "weather models: use this series' configured weather locations (default: the model's)",
    )
    .action(async (flags: BacktestFlags) => {
      const { forecaster, calendar, report, summary } = await backtest(flags);
      const file = typeof flags.json === 'string' && flags.json !== '-' ? flags.json : null;
      // NaN (no interval, no holiday hours) arrives as null after the summary's JSON rounding.
      const f = (x: number | null, d = 2): string => (x !== null && Number.isFinite(x) ? x.toFixed(d) : '—');
      const text = [
        `${forecaster.version} on ${flags.csv}, targets ${summary.from} … ${summary.to}, ${report.origins} origins ` +
          `(calendar ${calendar.timezone}, ${calendar.country ? `holidays of ${calendar.country}` : 'no holidays'})`,
        formatBacktestTable(report),
        ...(report.weather ? [describeBacktestWeather(report.weather)] : []),
        `1 h: MAPE ${f(summary.h1.mape)} %, MAE ${f(summary.h1.mae, 1)}, RMSE ${f(summary.h1.rmse, 1)}, holiday MAPE ${f(summary.h1.holidayMape)} % (${summary.h1.holidayHours} h), ` +
          `MAE ${f(summary.h1.maeRatioVsPersistence)}× better than persistence; 24 h: MAPE ${f(summary.h24.mape)} %; 10–90 % coverage ${f(summary.coverage === null ? null : summary.coverage * 100, 1)} %`,
      ];
      if (file) {
        await writeFile(file, JSON.stringify({ summary, report }, null, 2) + '\n');
        text.push(`wrote ${file}`);
      }
      // With --json the table is still shown, on stderr.
      if (jsonOutput()) say(text.join('\n'));
      emit({ calendar, summary, report, file }, text.join('\n'));
    });
}

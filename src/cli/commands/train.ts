import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AUTO_RECIPE_SEARCH, type RecipeSearch } from '../../adapters/training/auto-recipe.ts';
import { setDefaultModel } from '../../adapters/training/model-files.ts';
import { DEFAULT_RECIPE, TrainingRecipeSchema, type TrainingRecipe } from '../../adapters/training/recipe.ts';
import { trainModel, type TrainModelRequest } from '../../adapters/training/train-model.ts';
import { readFile } from 'node:fs/promises';
import { HORIZONS } from '../../core/features.ts';
import { DEFAULT_FORECAST_ERROR } from '../../core/weather.ts';
import { locationSeries, parseLocationsCsv, parseWeatherCsv } from '../../core/weather-csv.ts';
import { formatBacktestTable } from '../../core/backtest.ts';
import { COUNTRY_TIMEZONES } from '../../core/calendar/holidays.ts';
import { dayOfIso, localHour, utcOfLocal } from '../../core/calendar/localTime.ts';
import { formatProblem } from '../../core/csv.ts';
import { readActualsFile } from './import.ts';
import { InputError, ModelError } from '../../core/errors.ts';
import type { SeriesCalendar } from '../../core/forecaster.ts';
import { hourAt, toHourlySeries, type HourlySeries } from '../../core/hourly-series.ts';
import { HOUR_MS } from '../../core/time.ts';
import { LocalModelStore } from '../../adapters/model-store/local-store.ts';
import { PostgresModelRegistry } from '../../adapters/postgres/model-registry.ts';
import { readTrainingActuals } from '../../adapters/postgres/training-actuals.ts';
import { trainCandidate } from '../../adapters/training/train-candidate.ts';
import { emit, note, say, withDatabase } from '../context.ts';
import { DEFAULT_LOCAL_STORE } from '../paths.ts';
import { knownCalendar, seriesDefaultsFor } from '../known-datasets.ts';

/** Recipe flags: `--h1-weight` ↔ recipe.h1Weight, default from DEFAULT_RECIPE. */
export const RECIPE_FLAGS: Record<string, keyof TrainingRecipe> = {
  window: 'windowHours',
  'val-days': 'validationDays',
  'max-train': 'maxTrain',
  'half-life-years': 'halfLifeYears',
  seed: 'seed',
  epochs: 'epochs',
  members: 'members',
  hidden: 'hidden',
  layers: 'layers',
  dropout: 'dropout',
  lr: 'lr',
  'weight-decay': 'weightDecay',
  'batch-size': 'batchSize',
  patience: 'patience',
  'min-epochs': 'minEpochs',
  'h1-weight': 'h1Weight',
  changes: 'changes',
  'holiday-weight': 'holidayWeight',
  'interval-target': 'intervalTarget',
  threads: 'threads',
  workers: 'workers',
};

const camel = (flag: string): string => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** True when the user chose any part of the recipe: then nothing is searched. */
export function recipeFlagsGiven(flags: Record<string, unknown>): boolean {
  return Object.keys(RECIPE_FLAGS).some((flag) => flags[camel(flag)] !== undefined);
}

/**
 * The automatic recipe (auto-recipe.ts) unless a recipe flag was given or --no-search: with no flags a
 * series gets a configuration chosen on its own validation period, within `--search-budget` minutes.
 */
export function searchFromFlags(flags: Record<string, unknown>): RecipeSearch | undefined {
  if (flags.search === false || recipeFlagsGiven(flags)) return undefined;
  if (flags.searchBudget === undefined) return AUTO_RECIPE_SEARCH;
  const minutes = Number(flags.searchBudget);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new InputError(
      `--search-budget must be a positive number of minutes, got "${String(flags.searchBudget)}"`,
    );
  }
  return { ...AUTO_RECIPE_SEARCH, budgetSeconds: Math.round(minutes * 60) };
}

/** Options shared by train and retrain: the search's switch and budget. */
export function addSearchOptions(command: Command): Command {
  return command
    .option(
      '--search-budget <minutes>',
      `time budget of the automatic recipe search per series (default ${AUTO_RECIPE_SEARCH.budgetSeconds / 60})`,
    )
    .option('--no-search', 'train the default recipe as it is (any recipe flag also turns the search off)');
}

interface TrainFlags {
  csv?: string;
  series?: string;
  until?: string;
  testTo?: string;
  version?: string;
  country?: string;
  timezone?: string;
  modelDir: string;
  default: boolean;
  store: string;
  weather?: string;
  weatherLocations?: string;
  weatherNoise: string;
  calendarModel?: string;
  calendarHorizons: string;
  [recipeFlag: string]: unknown;
}

/** The recipe from the flags (each defaulting to DEFAULT_RECIPE), checked by its schema. */
export function recipeFromFlags(flags: Record<string, unknown>): TrainingRecipe {
  const raw: Record<string, number> = { ...DEFAULT_RECIPE };
  for (const [flag, key] of Object.entries(RECIPE_FLAGS)) {
    const value = flags[camel(flag)];
    if (value === undefined) continue;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InputError(`--${flag} must be a number, got "${String(value)}"`);
    raw[key] = n;
  }
  const parsed = TrainingRecipeSchema.safeParse(raw);
  if (!parsed.success) {
    const flagOf = Object.fromEntries(Object.entries(RECIPE_FLAGS).map(([f, k]) => [k, f]));
    throw new InputError(
      parsed.error.issues
        .map((i) => `--${flagOf[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}

/** `pulse train`: trains a model on a series' hourly actuals (formerly bin/train.ts). */
export function registerTrainCommand(program: Command): Command {
  const command = program
    .command('train')
    .description(
      'train a model (PyTorch, exported to ONNX) on hourly actuals, check ONNX parity, score the hours after training, write <version>.onnx/.json to the model folder',
    )
    .option('--csv <file>', 'hourly actuals, header ts_utc,<value>')
    .option('--series <name>', 'series name (names the model; known data sets bring their calendar)')
    .option('--until <date>', 'last local day of training + validation (default: one year before the end)')
    .option('--test-to <date>', 'last local day scored after training (default: the end of the data)')
    .option('--version <name>', 'model version (default: pulse-mlp-<series>-<year of --until>)')
    .option('--country <code>', 'holiday calendar (ISO 3166 alpha-2)')
    .option('--timezone <iana>', 'local time zone of the load')
    .option('--model-dir <dir>', 'folder the model is written to', 'model-artifacts')
    .option('--no-default', 'do not make the model the folder default (registry.json)')
    .option(
      '--weather <file>',
      'weather model: observed hourly weather, ts_utc,<location>_t2m,… (with --csv)',
    )
    .option('--weather-locations <file>', 'weather model: location,latitude,longitude,weight')
    .option(
      '--weather-noise <kind>',
      'forecast (a forecast-like temperature error in training, docs/model.md "Weather") or observed',
      'forecast',
    )
    .option(
      '--calendar-model <version>',
      'weather model: the calendar-only model that serves without weather',
    )
    .option('--calendar-horizons <n>', 'weather model: horizons 1…n served by the calendar-only model', '0');
  for (const [flag, key] of Object.entries(RECIPE_FLAGS)) {
    command.option(`--${flag} <n>`, `recipe ${key} (default ${DEFAULT_RECIPE[key]})`);
  }
  addSearchOptions(command);
  command.option(
    '--store <dir>',
    'model store the candidate is published to when training from the database',
    DEFAULT_LOCAL_STORE,
  );
  return command.action(async (flags: TrainFlags) => {
    if (!flags.series)
      throw new InputError('train needs --series NAME (and --csv FILE to train from a file)');
    const recipe = recipeFromFlags(flags);
    const search = searchFromFlags(flags);
    if (flags.weather && !flags.csv) {
      throw new InputError(
        '--weather trains from --csv FILE (weather from the database is not supported yet)',
      );
    }
    if (!flags.csv) {
      await trainFromDatabase(flags.series, recipe, search, flags);
      return;
    }
    const seriesName = flags.series.toLowerCase();
    const known = knownCalendar(seriesName) ?? knownCalendar(seriesDefaultsFor(flags.csv, {}).name);
    const country = flags.country ?? known?.country ?? null;
    const timezone =
      flags.timezone ?? known?.timezone ?? (country ? COUNTRY_TIMEZONES[country] : undefined) ?? 'UTC';
    const calendar: SeriesCalendar = { country, timezone };

    const parsed = await readActualsFile(flags.csv);
    if (parsed.problems.length) {
      note(`train: skipped ${parsed.problems.length} bad rows in ${flags.csv}`);
      for (const p of parsed.problems.slice(0, 5)) note(`  ${formatProblem(p)}`);
    }
    const series = toHourlySeries(parsed.rows);
    if (series.values.length === 0) throw new InputError(`--csv ${flags.csv} has no actuals`);
    const lastHour = hourAt(series, series.values.length - 1);

    const untilDay = localDay(
      flags.until ?? new Date(lastHour - 365 * 24 * HOUR_MS).toISOString().slice(0, 10),
      '--until',
    );
    const testTo = flags.testTo
      ? utcOfLocal(timezone, localDay(flags.testTo, '--test-to') + 1, 0) - HOUR_MS
      : lastHour;
    const version =
      flags.version ?? `pulse-mlp-${seriesName}-${new Date(untilDay * 24 * HOUR_MS).getUTCFullYear()}`;
    const modelDir = resolve(flags.modelDir);
    const started = Date.now();
    const trained = await trainModel({
      seriesName,
      series,
      calendar,
      recipe,
      version,
      untilDay,
      testTo,
      modelDir,
      command: `pulse train ${process.argv.slice(3).join(' ')}`,
      log: say,
      // The trainer's lines go where say's do: stderr under --json, whose stdout is one JSON object.
      trainer: { onLine: say },
      search,
      ...(flags.weather ? { weather: await trainingWeather(flags, series) } : {}),
    });
    if (!trained.parity.ok) {
      throw new ModelError(
        `model ${version}: onnxruntime-node disagrees with PyTorch by up to ${trained.parity.worstExcess} MWh beyond the tolerance; not registered`,
      );
    }
    if (trained.backtest) say(formatBacktestTable(trained.backtest, [1, 2, 3, 6, 12, 24]));
    if (flags.default) {
      await setDefaultModel(modelDir, version);
      say(`registered ${version} as the default model`);
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    emit(
      {
        version,
        metadataPath: trained.metadataPath,
        parity: trained.parity,
        default: flags.default,
        seconds,
      },
      `done in ${seconds.toFixed(1)} s: ${trained.metadataPath}`,
    );
  });
}

/**
 * `pulse train --series NAME` without --csv: the series' actuals and calendar (country, time zone) from
 * PostgreSQL; the model goes to the model store and is registered as a candidate (served only once
 * promoted, by `pulse retrain` or `pulse models promote`).
 */
async function trainFromDatabase(
  name: string,
  recipe: TrainingRecipe,
  search: RecipeSearch | undefined,
  flags: TrainFlags,
): Promise<void> {
  await withDatabase(async ({ sql }) => {
    const { series, actuals } = await readTrainingActuals(sql, name);
    const lastHour = hourAt(actuals, actuals.values.length - 1);
    // Default: everything up to the last complete local day.
    const untilDay = flags.until
      ? localDay(flags.until, '--until')
      : lastCompleteLocalDay(series.timezone, lastHour);
    const testTo = flags.testTo
      ? utcOfLocal(series.timezone, localDay(flags.testTo, '--test-to') + 1, 0) - HOUR_MS
      : lastHour;
    const store = new LocalModelStore(flags.store);
    const { trained, candidate } = await trainCandidate({
      series,
      actuals,
      recipe,
      untilDay,
      testTo,
      store,
      registry: new PostgresModelRegistry(sql),
      command: `pulse train ${process.argv.slice(3).join(' ')}`,
      version: flags.version,
      log: say,
      // The trainer's lines go where say's do: stderr under --json, whose stdout is one JSON object.
      trainer: { onLine: say },
      search,
    });
    if (trained.backtest) say(formatBacktestTable(trained.backtest, [1, 2, 3, 6, 12, 24]));
    if (!trained.parity.ok) {
      throw new ModelError(
        `model ${candidate.version}: onnxruntime-node disagrees with PyTorch by up to ${trained.parity.worstExcess} MWh beyond the tolerance; registered as a candidate that will never be promoted`,
      );
    }
    emit(
      { version: candidate.version, series: series.name, storeUri: candidate.storeUri, status: 'candidate' },
      `registered candidate ${candidate.version} for ${series.name} (${candidate.storeUri}); it is served once promoted (pulse retrain, or pulse models promote)`,
    );
  });
}

/** The newest local day whose every hour is at or before `lastHour`. */
export function lastCompleteLocalDay(timezone: string, lastHour: number): number {
  // The day of the hour after the newest actual is incomplete (or just starting): the one before is complete.
  return localHour(timezone, lastHour + HOUR_MS).day - 1;
}

/** A local date flag (YYYY-MM-DD) as days since 1970-01-01. */
export function localDay(text: string, flag: string): number {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text) ? dayOfIso(text) : NaN;
  if (!Number.isFinite(day)) throw new InputError(`${flag} "${text}" is not a date (YYYY-MM-DD)`);
  return day;
}

/**
 * A weather model's training weather from --weather and --weather-locations: each location's temperature
 * on the series' hour grid, weighted as the locations file says, with the forecast-like error unless
 * --weather-noise observed.
 */
async function trainingWeather(
  flags: TrainFlags,
  series: HourlySeries,
): Promise<NonNullable<TrainModelRequest['weather']>> {
  if (!flags.weatherLocations) throw new InputError('--weather needs --weather-locations FILE');
  if (flags.weatherNoise !== 'forecast' && flags.weatherNoise !== 'observed') {
    throw new InputError(`--weather-noise must be "forecast" or "observed", got "${flags.weatherNoise}"`);
  }
  const calendarHorizons = Number(flags.calendarHorizons);
  if (!Number.isInteger(calendarHorizons) || calendarHorizons < 0 || calendarHorizons > HORIZONS) {
    throw new InputError(
      `--calendar-horizons must be a whole number 0…${HORIZONS}, got "${flags.calendarHorizons}"`,
    );
  }
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new InputError(
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  };
  const parsed = parseWeatherCsv(await read(flags.weather!), { file: flags.weather! });
  const locations = parseLocationsCsv(await read(flags.weatherLocations), { file: flags.weatherLocations });
  const temperatures = locations.map((l) => {
    const column = locationSeries(parsed, l.name, 'temperature_2m');
    if (!column)
      throw new InputError(
        `${flags.weather}: no temperature column for location "${l.name}" (${l.name}_t2m)`,
      );
    const aligned = new Float32Array(series.values.length).fill(NaN);
    const offset = Math.round((hourAt(series, 0) - column.start) / HOUR_MS);
    for (let k = 0; k < aligned.length; k++) {
      const j = k + offset;
      if (j >= 0 && j < column.values.length) aligned[k] = column.values[j]!;
    }
    return aligned;
  });
  return {
    locations,
    temperatures,
    error: flags.weatherNoise === 'forecast' ? DEFAULT_FORECAST_ERROR : null,
    ...(flags.calendarModel ? { calendarModel: flags.calendarModel } : {}),
    ...(calendarHorizons > 0 ? { calendarHorizons } : {}),
  };
}

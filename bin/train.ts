/**
 * npm run train -- --csv FILE --series NAME [--until YYYY-MM-DD] [--epochs N] …
 *
 * Builds training tensors with the core's feature code (the only feature implementation), runs the
 * PyTorch trainer (training/train.py under Debian's /usr/bin/python3), exports ONNX, scores the test
 * period with the same ONNX adapter the service uses, and writes model-artifacts/<version>.{onnx,json}
 * plus parity samples, registering the model as default unless --no-default.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clearOnnxForecasterCache, loadOnnxForecaster } from '../src/adapters/onnx/forecaster.ts';
import type { ModelMetadata, ParitySamples } from '../src/adapters/onnx/metadata.ts';
import { formatBacktestTable, runBacktest, summarizeBacktest } from '../src/core/backtest.ts';
import { COUNTRY_TIMEZONES } from '../src/core/calendar/holidays.ts';
import { dayOfIso, utcOfLocal } from '../src/core/calendar/localTime.ts';
import { parseActualsCsv } from '../src/core/csv.ts';
import {
  buildFeatures,
  CALENDAR_FEATURES,
  calendarFeatureNames,
  FEATURES_VERSION,
  HORIZONS,
} from '../src/core/features.ts';
import type { ForecastWindow, SeriesCalendar } from '../src/core/forecaster.ts';
import {
  completeWindows,
  hourAt,
  indexOf,
  toHourlySeries,
  windowValues,
  type HourlySeries,
} from '../src/core/hourly-series.ts';
import { HOUR_MS, toIso } from '../src/core/time.ts';

const PYTHON = '/usr/bin/python3';
const QUANTILES = [0.1, 0.5, 0.9];

const { values: args } = parseArgs({
  options: {
    csv: { type: 'string' },
    series: { type: 'string' },
    until: { type: 'string' },
    'test-to': { type: 'string' },
    epochs: { type: 'string', default: '30' },
    members: { type: 'string', default: '4' },
    window: { type: 'string', default: '336' },
    hidden: { type: 'string', default: '512' },
    layers: { type: 'string', default: '2' },
    dropout: { type: 'string', default: '0' },
    lr: { type: 'string', default: '0.002' },
    'batch-size': { type: 'string', default: '256' },
    patience: { type: 'string', default: '6' },
    'h1-weight': { type: 'string', default: '24' },
    'val-days': { type: 'string', default: '91' },
    'max-train': { type: 'string', default: '0' },
    'half-life-years': { type: 'string', default: '0' },
    'holiday-weight': { type: 'string', default: '1' },
    'interval-target': { type: 'string', default: '0.86' },
    threads: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '20250101' },
    version: { type: 'string' },
    country: { type: 'string' },
    timezone: { type: 'string' },
    'model-dir': { type: 'string', default: 'model-artifacts' },
    'no-default': { type: 'boolean', default: false },
  },
});

/** Known series: the calendar their load follows. */
const SERIES_CALENDARS: Record<string, SeriesCalendar> = {
  turkey: { country: 'TR', timezone: 'Europe/Istanbul' },
  pjme: { country: 'US', timezone: 'America/New_York' },
  aep: { country: 'US', timezone: 'America/New_York' },
  comed: { country: 'US', timezone: 'America/Chicago' },
  spain: { country: 'ES', timezone: 'Europe/Madrid' },
};

function fail(message: string): never {
  console.error(`train: ${message}`);
  process.exit(2);
}

function int(name: keyof typeof args): number {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) fail(`--${name} must be a number, got "${String(args[name])}"`);
  return v;
}

/** Deterministic synthetic load for parity samples (never real data: those must not be committed). */
function syntheticWindows(calendar: SeriesCalendar, windowHours: number, n: number): ForecastWindow[] {
  let state = 12345;
  const rand = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const windows: ForecastWindow[] = [];
  const firstOrigin = Date.UTC(2025, 2, 27, 9);
  for (let w = 0; w < n; w++) {
    const origin = firstOrigin + w * 53 * HOUR_MS * 7; // spread over the year, every hour of day
    const level = 15_000 + rand() * 45_000;
    const values = new Float64Array(windowHours);
    for (let k = 0; k < windowHours; k++) {
      const t = origin - (windowHours - 1 - k) * HOUR_MS;
      const hour = (t / HOUR_MS) % 24;
      const day = Math.floor(t / (24 * HOUR_MS)) % 7;
      values[k] =
        level *
        (1 +
          0.15 * Math.sin((2 * Math.PI * (hour - 8)) / 24) -
          (day >= 5 ? 0.08 : 0) +
          0.02 * (rand() - 0.5));
    }
    windows.push({ seriesId: 0, calendar, origin, values });
  }
  return windows;
}

async function writeF32(path: string, data: Float32Array): Promise<void> {
  await writeFile(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

interface SplitTensors {
  n: number;
  history: Float32Array;
  calendar: Float32Array;
  target: Float32Array;
}

function buildSplit(
  series: HourlySeries,
  calendar: SeriesCalendar,
  origins: number[],
  windowHours: number,
): SplitTensors {
  const windows = origins.map((i) => ({
    seriesId: 0,
    calendar,
    origin: hourAt(series, i),
    values: windowValues(series, i, windowHours),
  }));
  const f = buildFeatures(windows, { windowHours, horizons: HORIZONS });
  const target = new Float32Array(origins.length * HORIZONS);
  origins.forEach((i, r) => {
    for (let h = 1; h <= HORIZONS; h++) target[r * HORIZONS + h - 1] = series.values[i + h]!;
  });
  return { n: f.n, history: f.history, calendar: f.calendar, target };
}

function runPython(manifest: string): Promise<void> {
  return new Promise((ok, ko) => {
    const child = spawn(PYTHON, [resolve('training/train.py'), manifest], {
      stdio: 'inherit',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2', PYTHONUNBUFFERED: '1' },
    });
    child.on('error', (e) =>
      ko(new Error(`cannot start ${PYTHON}: ${e.message}; run npm run setup:training`)),
    );
    child.on('exit', (code) => (code === 0 ? ok() : ko(new Error(`trainer exited with code ${code}`))));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  if (!args.csv || !args.series)
    fail('usage: npm run train -- --csv FILE --series NAME [--until YYYY-MM-DD] [--epochs N]');
  const seriesName = args.series.toLowerCase();
  const known = SERIES_CALENDARS[seriesName];
  const country = args.country ?? known?.country ?? null;
  const timezone =
    args.timezone ?? known?.timezone ?? (country ? COUNTRY_TIMEZONES[country] : undefined) ?? 'UTC';
  const calendar: SeriesCalendar = { country, timezone };
  const windowHours = int('window');

  const parsed = parseActualsCsv(await readFile(args.csv, 'utf8'), { file: args.csv });
  if (parsed.problems.length)
    console.warn(`train: skipped ${parsed.problems.length} bad rows in ${args.csv}`);
  const series = toHourlySeries(parsed.rows);
  const lastHour = hourAt(series, series.values.length - 1);

  // --until is a local date: training targets end at its last local hour. Default: one year before the end.
  const untilDay = args.until
    ? dayOfIso(args.until)
    : dayOfIso(new Date(lastHour - 365 * 24 * HOUR_MS).toISOString().slice(0, 10));
  if (!Number.isFinite(untilDay)) fail(`--until "${args.until}" is not a date (YYYY-MM-DD)`);
  const trainEnd = utcOfLocal(timezone, untilDay + 1, 0) - HOUR_MS;
  const valStart = utcOfLocal(timezone, untilDay + 1 - int('val-days'), 0);
  const testTo = args['test-to']
    ? utcOfLocal(timezone, dayOfIso(args['test-to']) + 1, 0) - HOUR_MS
    : lastHour;
  const untilYear = new Date(untilDay * 24 * HOUR_MS).getUTCFullYear();
  const version = args.version ?? `pulse-mlp-${seriesName}-${untilYear}`;

  // Origins: complete window, all 24 targets present. Train targets end before validation starts
  // (windows straddling the boundary are dropped); validation targets end at --until.
  const complete = completeWindows(series, windowHours);
  const train: number[] = [];
  const val: number[] = [];
  const valStartIndex = indexOf(series, valStart);
  const trainEndIndex = indexOf(series, trainEnd);
  for (let i = windowHours - 1; i + HORIZONS <= trainEndIndex; i++) {
    if (!complete[i]) continue;
    let ok = true;
    for (let h = 1; h <= HORIZONS && ok; h++) ok = !Number.isNaN(series.values[i + h]!);
    if (!ok) continue;
    if (i + HORIZONS < valStartIndex) train.push(i);
    else if (i + 1 >= valStartIndex) val.push(i);
  }
  let trainOrigins = train;
  const maxTrain = int('max-train');
  if (maxTrain > 0 && train.length > maxTrain) {
    // Keep the most recent windows when subsampling for quick experiments.
    trainOrigins = train.slice(train.length - maxTrain);
  }
  if (trainOrigins.length === 0 || val.length === 0)
    fail('not enough data before --until for training and validation');
  const trainingSpan = {
    from: toIso(hourAt(series, trainOrigins[0]! + 1)),
    to: toIso(hourAt(series, trainOrigins.at(-1)! + HORIZONS)),
  };
  const validationSpan = {
    from: toIso(hourAt(series, val[0]! + 1)),
    to: toIso(hourAt(series, val.at(-1)! + HORIZONS)),
  };
  console.log(
    `series ${seriesName} (${country ?? 'no holidays'}, ${timezone}): ${parsed.rows.length} hours, model ${version}`,
  );
  console.log(`training targets ${trainingSpan.from} … ${trainingSpan.to} (${trainOrigins.length} windows)`);
  console.log(`validation targets ${validationSpan.from} … ${validationSpan.to} (${val.length} windows)`);

  const outDir = resolve('training/out', version);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const splits: Record<string, SplitTensors> = {
    train: buildSplit(series, calendar, trainOrigins, windowHours),
    val: buildSplit(series, calendar, val, windowHours),
  };
  const manifest: Record<string, unknown> = {
    version,
    featuresVersion: FEATURES_VERSION,
    windowHours,
    calendarSize: CALENDAR_FEATURES,
    horizons: HORIZONS,
    quantiles: QUANTILES,
    // Calendar columns flagging a holiday or half day among the targets (for --holiday-weight).
    holidayColumns: calendarFeatureNames().flatMap((name, i) =>
      /^t\d+_(holiday|half_day)$/.test(name) ? [i] : [],
    ),
    hyper: {
      seed: int('seed'),
      epochs: int('epochs'),
      members: int('members'),
      hidden: int('hidden'),
      layers: int('layers'),
      dropout: Number(args.dropout),
      lr: Number(args.lr),
      batchSize: int('batch-size'),
      patience: int('patience'),
      h1Weight: Number(args['h1-weight']),
      threads: int('threads'),
      workers: int('workers'),
      halfLifeYears: Number(args['half-life-years']),
      holidayWeight: Number(args['holiday-weight']),
      intervalTarget: Number(args['interval-target']),
      opset: 17,
    },
  };
  for (const [name, s] of Object.entries(splits)) {
    await writeF32(join(outDir, `${name}_history.f32`), s.history);
    await writeF32(join(outDir, `${name}_calendar.f32`), s.calendar);
    await writeF32(join(outDir, `${name}_target.f32`), s.target);
    manifest[name] = {
      n: s.n,
      history: `${name}_history.f32`,
      calendar: `${name}_calendar.f32`,
      target: `${name}_target.f32`,
    };
  }
  // Optional recency weighting: load shapes drift (e.g. behind-the-meter solar), recent years count more.
  const halfLife = Number(args['half-life-years']);
  if (halfLife > 0) {
    const yearMs = 365.25 * 24 * HOUR_MS;
    const weights = Float32Array.from(
      trainOrigins,
      (i) => 0.5 ** ((trainEnd - hourAt(series, i)) / (halfLife * yearMs)),
    );
    await writeF32(join(outDir, 'train_weight.f32'), weights);
    (manifest.train as Record<string, unknown>).weight = 'train_weight.f32';
  }
  const parityWindows = syntheticWindows(calendar, windowHours, 16);
  const parity = buildFeatures(parityWindows, { windowHours, horizons: HORIZONS });
  await writeF32(join(outDir, 'parity_history.f32'), parity.history);
  await writeF32(join(outDir, 'parity_calendar.f32'), parity.calendar);
  manifest.parity = { n: parity.n, history: 'parity_history.f32', calendar: 'parity_calendar.f32' };
  const manifestPath = join(outDir, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  console.log(`tensors written to ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await runPython(manifestPath);
  const report = JSON.parse(await readFile(join(outDir, 'report.json'), 'utf8')) as {
    seconds: number;
    opset: number;
  };

  // Publish: ONNX + metadata + parity samples, then score the test period through onnxruntime-node.
  const modelDir = resolve(args['model-dir']);
  await mkdir(modelDir, { recursive: true });
  const onnxFile = `${version}.onnx`;
  await copyFile(join(outDir, 'model.onnx'), join(modelDir, onnxFile));
  const onnxBytes = await readFile(join(modelDir, onnxFile));
  const forecastOut = new Float32Array((await readFile(join(outDir, 'parity_forecast.f32'))).buffer.slice(0));
  const paritySamples: ParitySamples = {
    version,
    n: parity.n,
    windowHours,
    calendarSize: CALENDAR_FEATURES,
    horizons: HORIZONS,
    quantiles: QUANTILES.length,
    history: [...parity.history],
    calendar: [...parity.calendar],
    forecast: [...forecastOut],
  };
  const parityFile = `${version}.parity.json`;
  await writeFile(join(modelDir, parityFile), JSON.stringify(paritySamples) + '\n');

  const testFrom = trainEnd + HOUR_MS;
  const metadata: ModelMetadata = {
    version,
    createdAt: new Date().toISOString(),
    featuresVersion: FEATURES_VERSION,
    onnx: {
      file: onnxFile,
      sha256: createHash('sha256').update(onnxBytes).digest('hex'),
      bytes: onnxBytes.length,
      opset: report.opset,
    },
    inputs: [
      {
        name: 'history',
        shape: ['batch', windowHours],
        type: 'float32',
        description: 'raw hourly actuals in MWh, oldest first; last column = origin hour',
      },
      {
        name: 'calendar',
        shape: ['batch', CALENDAR_FEATURES],
        type: 'float32',
        description: 'calendar features, order in src/core/features.ts',
        columns: calendarFeatureNames(),
      },
    ],
    output: {
      name: 'forecast',
      shape: ['batch', HORIZONS, QUANTILES.length],
      type: 'float32',
      description: 'MWh for horizons 1…24 × quantiles (ascending)',
    },
    windowHours,
    horizons: HORIZONS,
    quantiles: QUANTILES,
    series: seriesName,
    calendar,
    trainingSpan,
    validationSpan,
    testSpan: testFrom <= testTo ? { from: toIso(testFrom), to: toIso(testTo) } : null,
    testMetrics: null,
    training: {
      ...report,
      hyper: manifest.hyper,
      command: `npm run train -- ${process.argv.slice(2).join(' ')}`,
    },
    paritySamples: parityFile,
  };
  const metaPath = join(modelDir, `${version}.json`);
  await writeFile(metaPath, JSON.stringify(metadata, null, 2) + '\n');

  if (testFrom <= testTo) {
    clearOnnxForecasterCache();
    const forecaster = await loadOnnxForecaster(modelDir, version);
    const t = Date.now();
    const backtest = await runBacktest(series, { forecaster, calendar, from: testFrom, to: testTo });
    console.log(
      `test ${toIso(testFrom)} … ${toIso(testTo)}: ${backtest.origins} origins scored in ${((Date.now() - t) / 1000).toFixed(2)} s`,
    );
    console.log(formatBacktestTable(backtest, [1, 2, 3, 6, 12, 24]));
    const withMetrics: ModelMetadata = { ...metadata, testMetrics: summarizeBacktest(backtest) };
    await writeFile(metaPath, JSON.stringify(withMetrics, null, 2) + '\n');
    await writeFile(join(outDir, 'backtest.json'), JSON.stringify(backtest, null, 2));
  }
  if (!args['no-default']) {
    await writeFile(join(modelDir, 'registry.json'), JSON.stringify({ default: version }, null, 2) + '\n');
    console.log(`registered ${version} as the default model`);
  }
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${metaPath}`);
}

main().catch((e: unknown) => {
  console.error(`train: ${(e as Error).message}`);
  process.exit(1);
});

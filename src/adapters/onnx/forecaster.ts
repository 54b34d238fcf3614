import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelError } from '../../core/errors.ts';
import {
  buildFeatures,
  CALENDAR_FEATURES,
  FEATURES_VERSION,
  WEATHER_FEATURES,
  WEATHER_FEATURES_VERSION,
} from '../../core/features.ts';
import type { Forecaster, ForecastResult, ForecastWindow } from '../../core/forecaster.ts';
import { quantileLayout, type ModelMetadata, type ModelRegistry, type QuantileLayout } from './metadata.ts';

/**
 * Windows per session.run. Measured on the shipped model (2 cores): 8,760 windows in one run took
 * 164 ms, in runs of 2,048 132 ms (the activations stay in cache), in runs of 256 143 ms.
 */
export const WINDOWS_PER_RUN = 2_048;

/** The trained model behind the Forecaster port: features from the core, one ONNX session per model. */
export class OnnxForecaster implements Forecaster {
  readonly version: string;
  readonly windowHours: number;
  readonly horizons: number;
  readonly quantiles: readonly number[];
  private readonly layout: QuantileLayout;
  /** The model takes the `weather` input (its metadata declares it). */
  readonly usesWeather: boolean;
  /** Weather models: the calendar-only model used when weather is missing (set by the model resolver). */
  readonly weather?: { calendarFallback: Forecaster | null };

  constructor(
    readonly metadata: ModelMetadata,
    private readonly session: ort.InferenceSession,
  ) {
    this.version = metadata.version;
    this.windowHours = metadata.windowHours;
    this.horizons = metadata.horizons;
    this.quantiles = metadata.quantiles;
    this.layout = quantileLayout(metadata.quantiles, `model ${metadata.version}`);
    this.usesWeather = metadata.inputs.some((i) => i.name === 'weather');
    if (this.usesWeather) this.weather = { calendarFallback: null };
  }

  /** Raw graph output [n, horizons, quantiles] for prepared tensors (used by the parity test). */
  async run(
    history: Float32Array,
    calendar: Float32Array,
    n: number,
    weather?: Float32Array,
  ): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      history: new ort.Tensor('float32', history, [n, this.windowHours]),
      calendar: new ort.Tensor('float32', calendar, [n, CALENDAR_FEATURES]),
    };
    if (this.usesWeather) {
      feeds.weather = new ort.Tensor('float32', weather ?? new Float32Array(n * WEATHER_FEATURES), [
        n,
        WEATHER_FEATURES,
      ]);
    }
    const out = await this.session.run(feeds);
    return out[this.metadata.output.name]!.data as Float32Array;
  }

  async forecast(windows: readonly ForecastWindow[]): Promise<ForecastResult[]> {
    const results: ForecastResult[] = [];
    const H = this.horizons;
    const Q = this.quantiles.length;
    const { lower: lowIndex, median: midIndex, upper: highIndex } = this.layout;
    for (let s = 0; s < windows.length; s += WINDOWS_PER_RUN) {
      const chunk = windows.slice(s, s + WINDOWS_PER_RUN);
      const f = buildFeatures(chunk, {
        windowHours: this.windowHours,
        horizons: H,
        weather: this.usesWeather,
      });
      const out = await this.run(f.history, f.calendar, f.n, f.weather);
      const early = await this.calendarHorizons(chunk);
      // One buffer per chunk, viewed per window: a typed array with its own buffer per window and
      // band costs ~1 µs each, ~10 % of a year-long back-test.
      const all = new Float64Array(f.n * H * 3);
      for (let i = 0; i < f.n; i++) {
        const at = i * H * 3;
        const values = all.subarray(at, at + H);
        const lower = all.subarray(at + H, at + 2 * H);
        const upper = all.subarray(at + 2 * H, at + 3 * H);
        for (let h = 0; h < H; h++) {
          const base = (i * H + h) * Q;
          values[h] = out[base + midIndex]!;
          lower[h] = out[base + lowIndex]!;
          upper[h] = out[base + highIndex]!;
        }
        if (early) {
          const c = early[i]!;
          for (let h = 0; h < early.horizons; h++) {
            values[h] = c.values[h]!;
            lower[h] = c.lower?.[h] ?? c.values[h]!;
            upper[h] = c.upper?.[h] ?? c.values[h]!;
          }
        }
        results.push({ values, lower, upper });
      }
    }
    return results;
  }

  /**
   * Weather models whose metadata says so (`weather.calendarHorizons`): the first horizons forecast by
   * the calendar-only model, which the development year found better there. Null when not configured
   * or the calendar-only model is not loaded.
   */
  private async calendarHorizons(
    windows: readonly ForecastWindow[],
  ): Promise<(ForecastResult[] & { horizons: number }) | null> {
    const k = Math.min(this.metadata.weather?.calendarHorizons ?? 0, this.horizons);
    const calendarOnly = this.weather?.calendarFallback;
    if (k <= 0 || !calendarOnly || calendarOnly.windowHours > this.windowHours) return null;
    const w = calendarOnly.windowHours;
    const trimmed = windows.map((x) => {
      const { weather: _weather, ...rest } = x;
      return { ...rest, values: x.values.subarray(x.values.length - w) };
    });
    return Object.assign(await calendarOnly.forecast(trimmed), { horizons: k });
  }
}

const cache = new Map<string, Promise<OnnxForecaster>>();

/**
 * Loads `<modelDir>/<version>.onnx` (default: the registry's default) once per process. Refuses,
 * with a ModelError an operator can act on, a missing file, a sha256 that differs from the metadata,
 * or a graph whose inputs do not match the metadata and the feature contract.
 */
export function loadOnnxForecaster(modelDir: string, version?: string): Promise<OnnxForecaster> {
  const dir = resolve(modelDir);
  const key = `${dir}|${version ?? ''}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = load(dir, version);
    // A failed load is not cached: the operator may fix the file and retry in the same process.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

/** Forgets cached sessions (tests; after replacing a model file). */
export function clearOnnxForecasterCache(): void {
  cache.clear();
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ModelError(
      `${what} ${path} cannot be read (${(e as Error).message}); train a model with "npm run train" or fix the path`,
      { cause: e },
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ModelError(`${what} ${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

export async function resolveModelVersion(dir: string, version?: string): Promise<string> {
  if (version) return version;
  const registryPath = join(dir, 'registry.json');
  const registry = await readJson<ModelRegistry>(registryPath, 'model registry');
  if (typeof registry.default !== 'string' || registry.default === '') {
    throw new ModelError(`model registry ${registryPath} has no "default" version`);
  }
  return registry.default;
}

async function load(dir: string, requested?: string): Promise<OnnxForecaster> {
  const version = await resolveModelVersion(dir, requested);
  const metaPath = join(dir, `${version}.json`);
  const meta = await readJson<ModelMetadata>(metaPath, 'model metadata');
  if (meta.version !== version) {
    throw new ModelError(
      `model metadata ${metaPath} describes version "${meta.version}", expected "${version}"`,
    );
  }
  if (meta.featuresVersion !== FEATURES_VERSION) {
    throw new ModelError(
      `model ${version} was trained with features "${meta.featuresVersion}" but this code builds "${FEATURES_VERSION}"; retrain or deploy the matching code`,
    );
  }
  quantileLayout(meta.quantiles ?? [], `model metadata ${metaPath}`);
  if (meta.weather && meta.weather.featuresVersion !== WEATHER_FEATURES_VERSION) {
    throw new ModelError(
      `model ${version} was trained with weather features "${meta.weather.featuresVersion}" but this code builds "${WEATHER_FEATURES_VERSION}"; retrain or deploy the matching code`,
    );
  }
  const onnxPath = join(dir, meta.onnx.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(onnxPath);
  } catch (e) {
    throw new ModelError(
      `model file ${onnxPath} for version ${version} cannot be read (${(e as Error).message})`,
      { cause: e },
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== meta.onnx.sha256) {
    throw new ModelError(
      `model file ${onnxPath} has sha256 ${sha256} but ${metaPath} expects ${meta.onnx.sha256}; the file is corrupt or belongs to another version`,
    );
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 2,
      graphOptimizationLevel: 'all',
      // Idle threads sleep instead of spinning: a backfill writes to PostgreSQL while it infers, and a
      // Lambda function has less than a core at 1,024 MB. A year's backfill took 25-35 % less CPU time
      // with spinning off (load 6-7), and a batch of 2,048 windows has few points where threads wait.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (e) {
    throw new ModelError(`model file ${onnxPath} cannot be loaded by onnxruntime: ${(e as Error).message}`, {
      cause: e,
    });
  }
  checkInputs(session, meta, onnxPath);
  return new OnnxForecaster(meta, session);
}

function checkInputs(session: ort.InferenceSession, meta: ModelMetadata, onnxPath: string): void {
  const expected = meta.inputs.map((i) => i.name);
  const names = [...session.inputNames];
  if (names.join(',') !== expected.join(',')) {
    throw new ModelError(
      `model file ${onnxPath} has inputs [${names.join(', ')}], metadata says [${expected.join(', ')}]`,
    );
  }
  const widths: Record<string, number> = {
    history: meta.windowHours,
    calendar: CALENDAR_FEATURES,
    weather: WEATHER_FEATURES,
  };
  for (const spec of meta.inputs) {
    const graph = session.inputMetadata.find((m) => m.name === spec.name);
    const shape =
      graph && graph.isTensor ? graph.shape.map((d) => (typeof d === 'number' ? d : 'batch')) : [];
    const want = spec.shape.map((d) => (typeof d === 'number' ? d : 'batch'));
    if (shape.join('x') !== want.join('x') || want[1] !== widths[spec.name]) {
      throw new ModelError(
        `model file ${onnxPath} input "${spec.name}" has shape [${shape.join(', ')}], metadata says [${want.join(', ')}] and the feature code needs [batch, ${widths[spec.name]}]`,
      );
    }
  }
  if (!session.outputNames.includes(meta.output.name)) {
    throw new ModelError(
      `model file ${onnxPath} has no output "${meta.output.name}" (outputs: ${session.outputNames.join(', ')})`,
    );
  }
}

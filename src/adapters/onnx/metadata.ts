import { ModelError } from '../../core/errors.ts';
import type { SeriesCalendar } from '../../core/forecaster.ts';
import type { Span } from '../../core/training-data.ts';

export type { Span };

/** `model-artifacts/<version>.json`: everything needed to serve and audit one model. */
export interface ModelMetadata {
  readonly version: string;
  readonly createdAt: string;
  /** Feature contract (src/core/features.ts FEATURES_VERSION) the model was trained with. */
  readonly featuresVersion: string;
  readonly onnx: {
    readonly file: string;
    readonly sha256: string;
    readonly bytes: number;
    readonly opset: number;
  };
  /** Graph inputs in order; shape entries are numbers or 'batch' for the dynamic batch axis. */
  readonly inputs: readonly ModelTensorSpec[];
  readonly output: ModelTensorSpec;
  readonly windowHours: number;
  readonly horizons: number;
  readonly quantiles: readonly number[];
  readonly series: string;
  readonly calendar: SeriesCalendar;
  readonly trainingSpan: Span;
  readonly validationSpan: Span;
  readonly testSpan: Span | null;
  readonly testMetrics: unknown;
  readonly training: unknown;
  /** File (next to the metadata) with synthetic inputs and the PyTorch outputs for the parity test. */
  readonly paritySamples: string;
  /** Weather models only: what the `weather` input (inputs[2]) is built from. */
  readonly weather?: ModelWeather;
}

/** The weather a model was trained with; serving must supply the same locations and variables. */
export interface ModelWeather {
  /** src/core/features.ts WEATHER_FEATURES_VERSION. */
  readonly featuresVersion: string;
  readonly variables: readonly string[];
  /** Locations and weights (sum 1) the training weather was weighted with. */
  readonly locations: readonly { name: string; latitude: number; longitude: number; weight: number }[];
  /** The forecast-like error added to the training temperatures (null = observed weather as-is). */
  readonly trainingError: unknown;
  /** Calendar-only model that forecasts a series whose weather is missing or too old. */
  readonly calendarModel?: string;
  /**
   * Horizons 1…k of every forecast come from `calendarModel` even when weather is present (chosen on
   * the development year: at 1 h the calendar-only model was the better one, docs/model.md "Weather").
   */
  readonly calendarHorizons?: number;
  /** Training windows: from when, and whether windows before the weather history were masked. */
  readonly history: { readonly from: string; readonly masked: boolean };
}

export interface ModelTensorSpec {
  readonly name: string;
  readonly shape: readonly (number | 'batch')[];
  readonly type: 'float32';
  readonly description: string;
  readonly columns?: readonly string[];
}

/** Where the interval bounds and the point forecast sit in the output's quantile axis. */
export interface QuantileLayout {
  readonly lower: number;
  readonly median: number;
  readonly upper: number;
}

/**
 * The output's quantile order lives in the metadata (`quantiles`, ascending, containing 0.5); the
 * trainer (training/train.py) reads the same list from its manifest, so both sides agree on where the
 * median and the bounds are.
 */
export function quantileLayout(quantiles: readonly number[], where = 'model metadata'): QuantileLayout {
  const median = quantiles.indexOf(0.5);
  const ascending = quantiles.every((q, i) => i === 0 || q > quantiles[i - 1]!);
  if (median < 0 || !ascending || quantiles.length < 3) {
    throw new ModelError(
      `${where}: quantiles [${quantiles.join(', ')}] must be ascending, at least three, and contain the median 0.5`,
    );
  }
  return { lower: 0, median, upper: quantiles.length - 1 };
}

/** `model-artifacts/registry.json`. */
export interface ModelRegistry {
  readonly default: string;
}

export interface ParitySamples {
  readonly version: string;
  readonly n: number;
  readonly windowHours: number;
  readonly calendarSize: number;
  readonly horizons: number;
  readonly quantiles: number;
  /** Row-major [n, windowHours] raw MWh (synthetic load). */
  readonly history: number[];
  /** Row-major [n, calendarSize]. */
  readonly calendar: number[];
  /** Row-major [n, weatherSize] (weather models). */
  readonly weather?: number[];
  /** Row-major [n, horizons, quantiles] as computed by PyTorch. */
  readonly forecast: number[];
}

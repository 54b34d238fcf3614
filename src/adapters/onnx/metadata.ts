import type { SeriesCalendar } from '../../core/forecaster.ts';

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
}

export interface ModelTensorSpec {
  readonly name: string;
  readonly shape: readonly (number | 'batch')[];
  readonly type: 'float32';
  readonly description: string;
  readonly columns?: readonly string[];
}

/** UTC ISO hour starts, both ends inclusive (targets). */
export interface Span {
  readonly from: string;
  readonly to: string;
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
  /** Row-major [n, horizons, quantiles] as computed by PyTorch. */
  readonly forecast: number[];
}

/** The model registry: trained versions per series, their figures and status, and who is champion. */

export type ModelStatus = 'candidate' | 'champion' | 'retired';

/** Back-test figures a promotion decision compares (one model on one period). */
export interface ModelFigures {
  /** Targets scored (inclusive, UTC ISO). */
  readonly from: string;
  readonly to: string;
  readonly origins: number;
  readonly maeH1: number;
  readonly maeH24: number;
  readonly mapeH1: number;
  readonly mapeH24: number;
  /** 1 h MAE on holiday hours; NaN/null when the period has none. */
  readonly holidayMaeH1: number | null;
  readonly holidayHours: number;
  /** Share of actuals inside the 10–90 % interval, all horizons pooled (0…1). */
  readonly coverage: number;
  /** Persistence 1 h MAE on the same pairs (for the record). */
  readonly persistenceMaeH1: number;
}

export interface CandidateModel {
  readonly version: string;
  readonly seriesId: number;
  readonly windowHours: number;
  readonly horizons: number;
  readonly quantiles: readonly number[];
  readonly sha256: string;
  /** The whole model metadata (as stored next to the ONNX file). */
  readonly metadata: object;
  readonly trainingSpan: { readonly from: string; readonly to: string };
  readonly dataFingerprint: string;
  readonly hyperParameters: object;
  readonly validation: object;
  readonly backtest: object | null;
  /** Where the model files are kept: s3://bucket/prefix or a local folder. */
  readonly storeUri: string;
}

export interface RegisteredModel {
  readonly version: string;
  readonly seriesId: number | null;
  readonly seriesName: string | null;
  readonly status: ModelStatus | null;
  readonly sha256: string | null;
  readonly trainingSpan: { readonly from: string; readonly to: string } | null;
  readonly dataFingerprint: string | null;
  readonly hyperParameters: unknown;
  readonly validation: unknown;
  readonly backtest: unknown;
  readonly storeUri: string | null;
  readonly createdAt: string;
}

export interface RetrainingDecision {
  readonly seriesId: number;
  readonly challengerVersion: string | null;
  readonly championVersion: string | null;
  readonly promoted: boolean;
  readonly reason: string;
  readonly backtestFrom: string | null;
  readonly backtestTo: string | null;
  readonly challengerFigures: ModelFigures | null;
  readonly championFigures: ModelFigures | null;
}

export interface ModelRegistryStore {
  registerCandidate(model: CandidateModel): Promise<void>;
  /** The series' champion, or null when it has none (it is served the default model). */
  championOf(seriesId: number): Promise<RegisteredModel | null>;
  /**
   * Makes `version` the series' champion in one transaction: the previous champion is retired, the
   * series is assigned the new version, and the assignment is recorded with its reason.
   */
  promote(seriesId: number, version: string, reason: string): Promise<void>;
  recordDecision(decision: RetrainingDecision): Promise<number>;
  listModels(seriesId?: number): Promise<RegisteredModel[]>;
}

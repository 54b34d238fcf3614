import { z } from 'zod';

/**
 * The contract between the TypeScript side of training (tensors, publication) and the Python trainer
 * (training/train.py): the manifest TypeScript writes and the report Python writes back. Both sides
 * read it from one place: these zod schemas, and `training/contract.schema.json` generated from them
 * (`npm run training:contract`), which training/contract.py validates against and
 * training/test_contract.py checks the trainer's key reads with. test/unit/training-contract.test.ts
 * fails when the file is stale or either side reads a key the other does not write.
 */

/** Quantiles a new model is trained for, ascending; the median (0.5) must be one of them. */
export const TRAINING_QUANTILES = [0.1, 0.5, 0.9] as const;

export const QuantilesSchema = z
  .array(z.number().gt(0).lt(1))
  .min(3)
  .refine((q) => q.every((v, i) => i === 0 || v > q[i - 1]!), { message: 'must be strictly ascending' })
  .refine((q) => q.includes(0.5), { message: 'must contain the median 0.5' })
  .describe('quantile levels in output order (ascending); the median 0.5 is one of them');

const positiveInt = z.number().int().positive();
const fileName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a file name in the manifest folder');

/** One graph input; `history` is raw MWh normalised inside the graph, `covariates` go in as they are. */
export const ManifestInputSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  width: positiveInt,
  role: z.enum(['history', 'covariates']),
  /**
   * Covariates only: standardise this input inside the graph with the training rows' mean and standard
   * deviation (where this column, a 0/1 availability flag, is 1), and zero it where the flag is 0.
   * The weather input: no scaler outside the ONNX file, and a window without weather sees only zeros.
   */
  maskColumn: z.number().int().nonnegative().optional(),
});

const SplitSchema = z.strictObject({
  n: positiveInt,
  /** File per input name, float32 row-major [n, width]. */
  inputs: z.record(z.string(), fileName),
  /** float32 [n, horizons] raw MWh. */
  target: fileName,
  /** Optional float32 [n] sample weights (recency). */
  weight: fileName.optional(),
});

/** What the Python trainer is told to do; everything it reads comes from here. */
export const TrainerHyperSchema = z.strictObject({
  seed: z.number().int().nonnegative(),
  epochs: positiveInt,
  members: positiveInt,
  hidden: positiveInt,
  layers: positiveInt,
  dropout: z.number().min(0).lt(1),
  lr: z.number().positive(),
  weightDecay: z.number().nonnegative(),
  batchSize: positiveInt,
  patience: positiveInt,
  /**
   * Early stopping is armed from this epoch on (1 = from the first): earlier epochs are neither kept as
   * a member's best state nor counted toward `patience`, so a member whose validation loss is noisy
   * while the one-cycle learning rate is near its peak is not stopped (and restored) there.
   */
  minEpochs: positiveInt,
  h1Weight: z.number().positive(),
  /**
   * Recent changes computed inside the graph from the history input (0 = none): the last `changes`
   * hourly changes and the changes of the same `changes` target hours one day earlier, each divided by
   * the newest value and scaled up (training/model.py). The feature contract is unchanged.
   */
  changes: z.number().int().nonnegative().max(24),
  holidayWeight: z.number().positive(),
  intervalTarget: z.number().gt(0).lt(1),
  threads: positiveInt,
  workers: positiveInt,
  opset: positiveInt,
});

export const TrainingManifestSchema = z.strictObject({
  version: z.string().min(1),
  featuresVersion: z.string().min(1),
  horizons: positiveInt,
  quantiles: QuantilesSchema,
  /** Graph inputs in order: exactly one `history` input first, then covariates. */
  inputs: z
    .array(ManifestInputSchema)
    .min(1)
    .refine((i) => i[0]!.role === 'history' && i.slice(1).every((x) => x.role === 'covariates'), {
      message: 'the first input must be the history, the others covariates',
    }),
  /** Columns of the covariates (inputs after the history, concatenated in order) that flag a holiday or half day among the targets. */
  holidayColumns: z.array(z.number().int().nonnegative()),
  hyper: TrainerHyperSchema,
  train: SplitSchema,
  val: SplitSchema,
  /** Synthetic windows the trainer pushes through the final PyTorch module (ONNX parity). */
  parity: SplitSchema.omit({ target: true, weight: true }),
  /** Files the trainer writes into the manifest folder. */
  outputs: z.strictObject({
    onnx: fileName,
    parityForecast: fileName,
    report: fileName,
    state: fileName,
  }),
});

export const TrainingReportSchema = z.strictObject({
  seconds: z.number().nonnegative(),
  cpuSeconds: z.number().nonnegative(),
  members: z.array(
    z.strictObject({ seed: z.number().int(), bestEpoch: z.number().int(), valLoss: z.number() }),
  ),
  validation: z.strictObject({
    mapeH1: z.number(),
    mapeH24: z.number(),
    coverage: z.number(),
  }),
  /** Interval calibration factors [horizons, quantiles]. */
  spread: z.array(z.array(z.number())),
  torch: z.string(),
  opset: positiveInt,
});

export type TrainingManifest = z.infer<typeof TrainingManifestSchema>;
export type TrainerHyper = z.infer<typeof TrainerHyperSchema>;
export type TrainingReport = z.infer<typeof TrainingReportSchema>;
export type ManifestInput = z.infer<typeof ManifestInputSchema>;

/** The JSON Schema file both sides read (training/contract.schema.json). */
export function contractJsonSchema(): Record<string, unknown> {
  return {
    $comment: 'Generated from src/adapters/training/contract.ts by `npm run training:contract`; do not edit.',
    manifest: z.toJSONSchema(TrainingManifestSchema),
    report: z.toJSONSchema(TrainingReportSchema),
  };
}

export const CONTRACT_SCHEMA_PATH = 'training/contract.schema.json';

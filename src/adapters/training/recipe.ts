import { z } from 'zod';
import { TrainerHyperSchema } from './contract.ts';

/**
 * A training recipe: how windows are cut (TypeScript side) plus what the Python trainer is told
 * (`hyper`, the manifest's part). Recorded whole in the model metadata and the registry.
 */
export const TrainingRecipeSchema = TrainerHyperSchema.extend({
  windowHours: z.number().int().min(168),
  /** Days before the end of training used for early stopping and interval calibration. */
  validationDays: z.number().int().positive(),
  /** Keep only the newest N training windows; 0 = all. */
  maxTrain: z.number().int().nonnegative(),
  /** Recency weighting half-life in years; 0 = none. */
  halfLifeYears: z.number().nonnegative(),
});

export type TrainingRecipe = z.infer<typeof TrainingRecipeSchema>;

/**
 * A recipe recorded by an earlier version of Pulse, such as a retraining job that was in flight when a
 * deploy replaced the function reading it: the fields added since default to what those versions did
 * (early stopping armed from the first epoch, no recent changes).
 */
export const RecordedRecipeSchema = TrainingRecipeSchema.extend({
  minEpochs: TrainingRecipeSchema.shape.minEpochs.default(1),
  changes: TrainingRecipeSchema.shape.changes.default(0),
});

/** The shipped Türkiye model's recipe (docs/model.md, chosen on the 2024 development year). */
export const DEFAULT_RECIPE: TrainingRecipe = {
  windowHours: 336,
  validationDays: 91,
  maxTrain: 0,
  halfLifeYears: 0,
  seed: 20250101,
  epochs: 30,
  members: 4,
  hidden: 512,
  layers: 2,
  dropout: 0,
  lr: 0.002,
  weightDecay: 1e-4,
  batchSize: 256,
  patience: 6,
  minEpochs: 1,
  h1Weight: 24,
  changes: 0,
  holidayWeight: 1,
  intervalTarget: 0.86,
  threads: 2,
  workers: 2,
  opset: 17,
};

/** The trainer's part of a recipe (the manifest's `hyper`). */
export function trainerHyper(recipe: TrainingRecipe): z.infer<typeof TrainerHyperSchema> {
  return TrainerHyperSchema.parse(
    Object.fromEntries(
      Object.keys(TrainerHyperSchema.shape).map((k) => [k, recipe[k as keyof TrainingRecipe]]),
    ),
  );
}

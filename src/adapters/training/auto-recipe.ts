import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { splitOrigins, trainingBoundaries } from '../../core/training-data.ts';
import { TrainingRecipeSchema, type TrainingRecipe } from './recipe.ts';
import { runTraining, TRAINING_WORK_DIR, type TrainingRun, type TrainModelRequest } from './train-model.ts';

/**
 * The automatic recipe (issue 16 part 7): a series gets its configuration without anyone choosing
 * flags. The search trains a few recipes on the series' own data up to the end of training, compares
 * them on its validation period (the last `validationDays` before the end of training, which early
 * stopping and interval calibration use too, and which is never the period a model is scored on), keeps
 * the best, and records every trial in the model's metadata and the registry.
 *
 * Stages run in order; each stage's alternatives are patches on the best recipe so far, and the best of
 * a stage (by `trialScore`) is the base of the next. Trials are capped (newest windows, fewer members)
 * and the final, the chosen recipe trained again on every window, always runs: with `finalMembers`
 * members if the budget still fits them, else with `trialMembers`; a trial runs only if that final still
 * fits after it, so the budget is spent on trials only as far as it leaves the final its time.
 */
export interface RecipeSearch {
  /** Wall-clock budget for the whole search, including the final training (seconds). */
  readonly budgetSeconds: number;
  /** Members of each trial. */
  readonly trialMembers: number;
  /** Members of the final model when the budget allows a second training of the chosen recipe. */
  readonly finalMembers: number;
  /**
   * Trials train on the newest this-many windows only (0 = all), so a long history costs no more to
   * search than a short one; the final model trains the chosen recipe on every window.
   */
  readonly trialWindows: number;
  readonly stages: readonly RecipeStage[];
  /**
   * Applied to the chosen recipe for the final training only (recorded in the published recipe): what
   * makes the final model better without changing which recipe the trials choose.
   */
  readonly finalPatch: Partial<TrainingRecipe>;
}

export interface RecipeStage {
  /** What the stage decides (recorded). */
  readonly name: string;
  /** Alternatives to the stage's base recipe; the base itself always competes. */
  readonly alternatives: readonly Partial<TrainingRecipe>[];
}

/**
 * Chosen on development years only (docs/model.md, "Automatic recipe"): the Türkiye recipe suits a
 * smooth national series; the regional PJM series needed a shorter window, a lower learning rate and
 * dropout (their validation quarters are noisy); and at 1 h a much stronger horizon-1 weight helped
 * the PJM regions (COMED's development year: 5.20× → 5.70× persistence at weight 96); and the recent
 * hourly changes computed in the graph helped again there (weight 96: 5.70× → 5.92× with 6 changes,
 * 5.99× with 24). The final arms early stopping at epoch 10 (`finalPatch`): on AEP's development year a
 * member stopped at epoch 2 on a noisy validation quarter (one-cycle learning rate near its peak) and
 * the pair gave 4.81× persistence; armed at 10 it ran to epoch 28 and the pair gave 5.26×, the other
 * member unchanged. Only the final: the trials keep choosing as before, and a final whose members all
 * had their best epoch at 10 or later is the same model as before (Türkiye's, PJME's).
 */
export const AUTO_RECIPE_SEARCH: RecipeSearch = {
  budgetSeconds: 3600,
  trialMembers: 2,
  finalMembers: 4,
  trialWindows: 3 * 8760,
  stages: [
    { name: 'family', alternatives: [{ windowHours: 168, lr: 0.001, dropout: 0.2 }] },
    { name: 'horizon-1 weight', alternatives: [{ h1Weight: 96 }] },
    { name: 'recent changes', alternatives: [{ changes: 24 }] },
  ],
  finalPatch: { minEpochs: 10 },
};

/** The validation figures a trial is judged by (the trainer's report: the calibrated ensemble). */
export interface TrialFigures {
  readonly mapeH1: number;
  readonly mapeH24: number;
  readonly coverage: number;
}

/**
 * How a trial compares with its stage's base: the sum of its 1 h and 24 h validation MAPE, each relative
 * to the base's (the base scores 2). Lower is better; an alternative must beat the base by more than
 * `MIN_GAIN` to replace it (the base wins ties: fewer changes from a recipe that is known to work).
 */
export function trialScore(trial: TrialFigures, base: TrialFigures): number {
  return trial.mapeH1 / base.mapeH1 + trial.mapeH24 / base.mapeH24;
}

/** An alternative must lower the score by this much (0.5 % of one figure) to replace the base. */
export const MIN_GAIN = 0.005;

export interface RecipeTrialRecord {
  readonly stage: string;
  /** What this trial changed relative to its stage's base ({} = the base itself). */
  readonly patch: Partial<TrainingRecipe>;
  readonly members: number;
  readonly validation: TrialFigures | null;
  readonly score: number | null;
  readonly seconds: number;
  readonly outcome: 'chosen' | 'rejected' | 'skipped: budget' | `failed: ${string}`;
}

/** What the search did, recorded in the metadata (`training.search`) and the registry. */
export interface RecipeSearchRecord {
  readonly rule: string;
  readonly budgetSeconds: number;
  readonly seconds: number;
  readonly trials: readonly RecipeTrialRecord[];
  /** What the final training changed in the chosen recipe (`RecipeSearch.finalPatch`). */
  readonly finalPatch: Partial<TrainingRecipe>;
  /** The recipe the published model was trained with. */
  readonly chosen: TrainingRecipe;
  /**
   * 'final' = the chosen recipe retrained on every window; 'trial' = the trial's own model (only when the
   * trial already had every window and more members did not fit).
   */
  readonly published: 'final' | 'trial';
}

const RULE =
  'trials on the newest trialWindows windows; stages in order; a stage alternative replaces the base when (1 h MAPE / base + 24 h MAPE / base) on the validation period is lower by more than 0.005; a trial runs only if the final with trialMembers still fits the budget after it; then the chosen recipe, patched with finalPatch, is retrained on every window with finalMembers if the remaining budget fits it, else with trialMembers (even over the budget: a capped trial is never published)';

function figuresOf(run: TrainingRun): TrialFigures {
  return run.report.validation;
}

function patched(base: TrainingRecipe, patch: Partial<TrainingRecipe>): TrainingRecipe {
  return TrainingRecipeSchema.parse({ ...base, ...patch });
}

/**
 * Runs the search from `request.recipe` (its members replaced by the trial count) and returns the run to
 * publish with its record. Trials live in `<workRoot>/<version>-search/`; the losers are deleted.
 */
export async function searchRecipe(
  request: TrainModelRequest,
  search: RecipeSearch,
  /** Trains one recipe in `<root>/<version>` (tests pass a fake); default: tensors + the Python trainer. */
  runTrial: (recipe: TrainingRecipe, version: string, root: string) => Promise<TrainingRun> = (
    recipe,
    version,
    root,
  ) => runTraining(request, recipe, version, root),
): Promise<{ run: TrainingRun; search: RecipeSearchRecord }> {
  const log = request.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const root = join(request.workDir ?? TRAINING_WORK_DIR, `${request.version}-search`);
  const trials: RecipeTrialRecord[] = [];
  let n = 0;
  const train = async (recipe: TrainingRecipe): Promise<TrainingRun> => {
    n += 1;
    return runTrial(recipe, `${request.version}-t${n}`, root);
  };

  const trialCap = (recipe: TrainingRecipe): number =>
    search.trialWindows > 0 && (recipe.maxTrain === 0 || recipe.maxTrain > search.trialWindows)
      ? search.trialWindows
      : recipe.maxTrain;
  let best = await train(
    patched(request.recipe, { members: search.trialMembers, maxTrain: trialCap(request.recipe) }),
  );
  let longest = best.seconds;
  // Trials ran on at most trialWindows windows and trialMembers members (members train two at a
  // time): the final's cost scales with both, from the slowest trial so far.
  const windowsOf = (trial: TrainingRun): number =>
    allWindows(request, trial.recipe, request.recipe.maxTrain);
  const finalEstimate = (trial: TrainingRun, members: number): number => {
    if (trial.recipe.maxTrain === request.recipe.maxTrain && members <= search.trialMembers) return 0;
    const perWindow = longest / Math.max(1, trial.prepared.manifest.train.n);
    return (perWindow * windowsOf(trial) * Math.ceil(members / 2)) / Math.ceil(search.trialMembers / 2);
  };
  trials.push({
    stage: 'base',
    patch: {},
    members: search.trialMembers,
    validation: figuresOf(best),
    score: 2,
    seconds: best.seconds,
    outcome: 'chosen',
  });
  log(`recipe search: base ${describe(figuresOf(best))} (${best.seconds.toFixed(0)} s)`);

  for (const stage of search.stages) {
    const base = best;
    let bestScore = 2 - MIN_GAIN;
    let bestIndex = -1;
    for (const patch of stage.alternatives) {
      // A trial that never produced figures (over budget, or the trainer failed) is still recorded.
      const notRun = (outcome: RecipeTrialRecord['outcome']): void => {
        trials.push({
          stage: stage.name,
          patch,
          members: search.trialMembers,
          validation: null,
          score: null,
          seconds: 0,
          outcome,
        });
        log(`recipe search: ${stage.name} ${JSON.stringify(patch)} ${outcome}`);
      };
      // The final's time is reserved: a trial runs only if the final with trialMembers still fits after it.
      if (elapsed() + longest + finalEstimate(best, search.trialMembers) > search.budgetSeconds) {
        notRun('skipped: budget');
        continue;
      }
      let run: TrainingRun;
      try {
        run = await train(patched(base.recipe, patch));
      } catch (error) {
        notRun(`failed: ${(error as Error).message.split('\n')[0]!}`);
        continue;
      }
      longest = Math.max(longest, run.seconds);
      const score = trialScore(figuresOf(run), figuresOf(base));
      log(
        `recipe search: ${stage.name} ${JSON.stringify(patch)} ${describe(figuresOf(run))} score ${score.toFixed(4)} (${run.seconds.toFixed(0)} s)`,
      );
      trials.push({
        stage: stage.name,
        patch,
        members: search.trialMembers,
        validation: figuresOf(run),
        score,
        seconds: run.seconds,
        outcome: 'rejected',
      });
      if (score < bestScore) {
        if (bestIndex >= 0) await rm(best.prepared.workDir, { recursive: true, force: true });
        bestScore = score;
        bestIndex = trials.length - 1;
        best = run;
      } else {
        await rm(run.prepared.workDir, { recursive: true, force: true });
      }
    }
    if (bestIndex >= 0) {
      trials[bestIndex] = { ...trials[bestIndex]!, outcome: 'chosen' };
      const baseTrial = trials.findLastIndex((t, i) => i < bestIndex && t.outcome === 'chosen');
      if (baseTrial >= 0) trials[baseTrial] = { ...trials[baseTrial]!, outcome: 'rejected' };
      if (base !== best) await rm(base.prepared.workDir, { recursive: true, force: true });
    }
  }

  let run = best;
  let published: RecipeSearchRecord['published'] = 'trial';
  const capped = best.recipe.maxTrain !== request.recipe.maxTrain;
  for (const members of [search.finalMembers, search.trialMembers]) {
    // Nothing to gain from retraining what the trial already is (same windows, same members).
    if (!capped && members <= search.trialMembers) break;
    const estimate = finalEstimate(best, members);
    // A capped trial is never published: its history is cut, and history is worth more than the
    // recipe (AEP: 4.86× persistence from a 3-year trial against 5.19× from all years). So the final
    // with trialMembers runs even over the budget (the trials left it its estimated time).
    const fits = elapsed() + estimate <= search.budgetSeconds || members <= search.trialMembers;
    log(
      `recipe search: final with ${members} members on ${windowsOf(best)} windows, ${JSON.stringify(search.finalPatch)}, estimate ${estimate.toFixed(0)} s: ${fits ? 'training' : 'over the budget'}`,
    );
    if (!fits) continue;
    run = await train(
      patched(best.recipe, { ...search.finalPatch, members, maxTrain: request.recipe.maxTrain }),
    );
    published = 'final';
    log(`recipe search: final ${describe(figuresOf(run))} (${run.seconds.toFixed(0)} s)`);
    break;
  }
  return {
    run,
    search: {
      rule: RULE,
      budgetSeconds: search.budgetSeconds,
      seconds: Math.round(elapsed()),
      trials,
      finalPatch: search.finalPatch,
      chosen: run.recipe,
      published,
    },
  };
}

/** Training windows of `recipe` on every window (or `maxTrain`), as the dataset export will cut them. */
function allWindows(request: TrainModelRequest, recipe: TrainingRecipe, maxTrain: number): number {
  const { trainEnd, validationStart } = trainingBoundaries(
    request.calendar.timezone,
    request.untilDay,
    recipe.validationDays,
  );
  const split = splitOrigins(request.series, {
    windowHours: recipe.windowHours,
    trainEnd,
    validationStart,
    maxTrain,
  });
  return split?.train.length ?? 0;
}

function describe(f: TrialFigures): string {
  return `validation MAPE 1 h ${f.mapeH1.toFixed(3)} %, 24 h ${f.mapeH24.toFixed(3)} %, coverage ${f.coverage.toFixed(1)} %`;
}

import { describe, expect, it } from 'vitest';
import { AUTO_RECIPE_SEARCH, searchRecipe, trialScore } from '../../src/adapters/training/auto-recipe.ts';
import { DEFAULT_RECIPE, type TrainingRecipe } from '../../src/adapters/training/recipe.ts';
import type { TrainingRun, TrainModelRequest } from '../../src/adapters/training/train-model.ts';
import { dayOfIso } from '../../src/core/calendar/localTime.ts';
import { toHourlySeries } from '../../src/core/hourly-series.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';

// Five years of hourly actuals: a 3-year trial cap (26,280 windows) leaves about 41,000 for the final.
const calendar = { country: 'TR', timezone: 'Europe/Istanbul' };
const series = toHourlySeries(
  generateSyntheticSeries({
    from: Date.parse('2019-12-31T21:00:00Z'),
    to: Date.parse('2024-12-31T20:00:00Z'),
    calendar,
  }),
);
const request = {
  version: 'm',
  recipe: DEFAULT_RECIPE,
  series,
  calendar,
  untilDay: dayOfIso('2024-12-31'),
  log: () => undefined,
} as unknown as TrainModelRequest;
const ALL_WINDOWS = 41_000;

/** A fake trainer: validation figures as a function of the recipe, and how long it "took". */
function fakeTrainer(figures: (r: TrainingRecipe) => { mapeH1: number; mapeH24: number }, seconds = 10) {
  const trained: TrainingRecipe[] = [];
  const run = (recipe: TrainingRecipe, version: string, dir: string): Promise<TrainingRun> => {
    trained.push(recipe);
    return Promise.resolve({
      recipe,
      prepared: {
        workDir: `${dir}/${version}-does-not-exist`,
        manifest: { version, train: { n: recipe.maxTrain || ALL_WINDOWS } },
      } as never,
      report: { validation: { ...figures(recipe), coverage: 86 } } as never,
      seconds,
    });
  };
  return { run, trained };
}

describe('automatic recipe search', () => {
  it('scores a trial by its 1 h and 24 h validation MAPE relative to the base', () => {
    const base = { mapeH1: 0.5, mapeH24: 4, coverage: 86 };
    expect(trialScore(base, base)).toBe(2);
    expect(trialScore({ mapeH1: 0.45, mapeH24: 4.2, coverage: 80 }, base)).toBeCloseTo(0.9 + 1.05, 10);
  });

  it('keeps an alternative only when it beats its stage base, then retrains the choice with more members', async () => {
    // A noisy region: the regional family wins, and within it the strong horizon-1 weight wins.
    const { run, trained } = fakeTrainer((r) => ({
      mapeH1: (r.windowHours === 168 ? 0.6 : 0.7) - (r.h1Weight === 96 ? 0.06 : 0),
      mapeH24: r.windowHours === 168 ? 4.8 : 5.2,
    }));
    const { run: published, search } = await searchRecipe(request, AUTO_RECIPE_SEARCH, run);
    // Trials on the newest three years, two members; the final on every window with four.
    // Only the final arms early stopping late (finalPatch); the trials keep the recipe's rule.
    expect(trained.map((r) => [r.windowHours, r.h1Weight, r.members, r.maxTrain, r.minEpochs])).toEqual([
      [336, 24, 2, 26_280, 1],
      [168, 24, 2, 26_280, 1],
      [168, 96, 2, 26_280, 1],
      [168, 96, 2, 26_280, 1],
      [168, 96, 4, 0, 10],
    ]);
    expect(search.finalPatch).toEqual({ minEpochs: 10 });
    expect(search.published).toBe('final');
    expect(search.chosen).toMatchObject({
      windowHours: 168,
      lr: 0.001,
      dropout: 0.2,
      h1Weight: 96,
      members: 4,
      minEpochs: 10,
    });
    expect(published.recipe).toEqual(search.chosen);
    // The recent-changes trial ties (these fake figures ignore it): the base of its stage stays.
    expect(search.trials.map((t) => t.outcome)).toEqual(['rejected', 'rejected', 'chosen', 'rejected']);
    expect(search.trials[2]!.score).toBeCloseTo(0.54 / 0.6 + 1, 10);
  });

  it('keeps the base on a tie (the shipped recipe for a series it suits)', async () => {
    const { run, trained } = fakeTrainer((r) => ({
      mapeH1: r.windowHours === 168 ? 0.51 : 0.5,
      mapeH24: r.h1Weight === 96 ? 1.47 : 1.47 - 0.001,
    }));
    const { search } = await searchRecipe(request, AUTO_RECIPE_SEARCH, run);
    expect(search.chosen).toEqual({ ...DEFAULT_RECIPE, members: 4, minEpochs: 10 });
    expect(search.trials.map((t) => t.outcome)).toEqual(['chosen', 'rejected', 'rejected', 'rejected']);
    expect(trained).toHaveLength(5);
  });

  it('trains the final with fewer members when four do not fit the budget', async () => {
    // Each trial "takes" 20 s; the final on ~1.6× the windows: ~31 s with two members, ~62 s with four.
    // A trial runs while trial + the two-member final fit (20 + 31 ≤ 55).
    const { run, trained } = fakeTrainer(() => ({ mapeH1: 0.5, mapeH24: 1.4 }), 20);
    const { search } = await searchRecipe(request, { ...AUTO_RECIPE_SEARCH, budgetSeconds: 55 }, run);
    expect(trained.map((r) => [r.members, r.maxTrain])).toEqual([
      [2, 26_280],
      [2, 26_280],
      [2, 26_280],
      [2, 26_280],
      [2, 0],
    ]);
    expect(search.published).toBe('final');
  });

  it('reserves the final: skips the trials that would leave it no time, and never publishes a capped trial', async () => {
    // Budget 45 s: a second trial (20 s) plus the two-member final (~31 s) would not fit, so the
    // stages are skipped; the final on every window runs even though the base trial used the time.
    const { run, trained } = fakeTrainer(() => ({ mapeH1: 0.5, mapeH24: 1.4 }), 20);
    const { search } = await searchRecipe(request, { ...AUTO_RECIPE_SEARCH, budgetSeconds: 45 }, run);
    expect(trained.map((r) => [r.members, r.maxTrain])).toEqual([
      [2, 26_280],
      [2, 0],
    ]);
    expect(search.trials.map((t) => t.outcome)).toEqual([
      'chosen',
      'skipped: budget',
      'skipped: budget',
      'skipped: budget',
    ]);
    expect(search.published).toBe('final');
    expect(search.chosen).toEqual({ ...DEFAULT_RECIPE, members: 2, minEpochs: 10 });
  });

  it('publishes the trial itself when it already had every window and more members do not fit', async () => {
    const short = { ...AUTO_RECIPE_SEARCH, budgetSeconds: 15, trialWindows: 0 };
    const { run, trained } = fakeTrainer(() => ({ mapeH1: 0.5, mapeH24: 1.4 }), 20);
    const { search } = await searchRecipe(request, short, run);
    expect(trained.map((r) => [r.members, r.maxTrain])).toEqual([[2, 0]]);
    expect(search.published).toBe('trial');
    expect(search.chosen.members).toBe(2);
    // The trial as it was trained: the final's patch was never applied.
    expect(search.chosen.minEpochs).toBe(1);
  });
});

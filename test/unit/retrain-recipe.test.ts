import { describe, expect, it } from 'vitest';
import { recipeFromSetting } from '../../src/adapters/lambda/retraining.ts';
import { DEFAULT_RECIPE } from '../../src/adapters/training/recipe.ts';
import { ConfigurationError } from '../../src/core/errors.ts';

describe('recipeFromSetting (RETRAIN_RECIPE of the managed cycle)', () => {
  it('is the default recipe when unset, and the given fields over it when set', () => {
    expect(recipeFromSetting(undefined)).toEqual(DEFAULT_RECIPE);
    expect(recipeFromSetting('{"windowHours":168,"lr":0.001,"dropout":0.2}')).toEqual({
      ...DEFAULT_RECIPE,
      windowHours: 168,
      lr: 0.001,
      dropout: 0.2,
    });
  });

  it('refuses what is not JSON, not an object, an unknown field or a bad value, naming it', () => {
    expect(() => recipeFromSetting('{windowHours:168}')).toThrow(ConfigurationError);
    expect(() => recipeFromSetting('{windowHours:168}')).toThrow(/RETRAIN_RECIPE is not JSON/);
    expect(() => recipeFromSetting('[1]')).toThrow(/RETRAIN_RECIPE: must be a JSON object/);
    expect(() => recipeFromSetting('{"windowHour":168}')).toThrow(/RETRAIN_RECIPE: .*windowHour/);
    expect(() => recipeFromSetting('{"windowHours":24}')).toThrow(/RETRAIN_RECIPE: windowHours:/);
  });
});

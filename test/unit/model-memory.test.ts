import { describe, expect, it } from 'vitest';
import { loadConfig, modelsThatFit } from '../../src/adapters/config.ts';

describe('how many models a forecasting process holds', () => {
  it('in Lambda, what its memory fits: 512 MB for the process, 16 MB a model', () => {
    expect(modelsThatFit(1024)).toBe(32);
    expect(modelsThatFit(2048)).toBe(96);
    expect(modelsThatFit(10_240)).toBe(608);
    // Never fewer than the default model itself.
    expect(modelsThatFit(256)).toBe(1);
    expect(
      loadConfig({ AWS_LAMBDA_FUNCTION_NAME: 'f', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }).maxModels,
    ).toBe(32);
  });

  it('PULSE_MAX_MODELS wins; no limit on one machine unless it is set; a bad value is named', () => {
    expect(loadConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024', PULSE_MAX_MODELS: '200' }).maxModels).toBe(
      200,
    );
    expect(loadConfig({}).maxModels).toBeUndefined();
    expect(() => loadConfig({ PULSE_MAX_MODELS: 'many' })).toThrow(
      /PULSE_MAX_MODELS: must be a positive number, got "many"/,
    );
  });
});

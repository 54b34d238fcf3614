import { expect } from 'vitest';
import { SourceError } from '../../src/core/errors.ts';

/** The SourceError a source call rejects with; fails the test if it resolves or rejects with anything else. */
export async function sourceFailure(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

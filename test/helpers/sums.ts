import { expect } from 'vitest';

/** Rows equal field by field, numbers up to floating-point summation order (relative 1e-9). */
export function expectSameSums(actual: Record<string, unknown>[], expected: Record<string, unknown>[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i]!;
    for (const [key, value] of Object.entries(want)) {
      if (typeof value === 'number' && typeof row[key] === 'number') {
        expect(row[key], `${key} of row ${i}`).toBeCloseTo(
          value,
          Math.max(0, 9 - Math.ceil(Math.log10(Math.abs(value) + 1))),
        );
      } else {
        expect(row[key], `${key} of row ${i}`).toEqual(value);
      }
    }
  });
}

import { expect } from 'vitest';
import { PARITY_TOLERANCE, relativeError, report } from './parity-fixtures.ts';

/** Asserts ours is within the parity tolerance of the reference and prints the measured error. */
export function expectParity(what: string, ours: ArrayLike<number>, reference: ArrayLike<number>, against: string): void {
  const error = relativeError(ours, reference);
  report(what, error, against);
  expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
}

// Losses appended to a forward graph before it is differentiated.
import type { GraphBuilder } from '../builder.ts';
import type { Value } from '../graph-core.ts';

/**
 * Mean squared error of `prediction` against a new graph input `target` of the same shape, as the
 * scalar output `loss` (the diffusion objective: predicted noise against the noise drawn).
 */
export function addMseLoss(b: GraphBuilder, prediction: Value, target: Value, name = 'loss'): Value {
  const diff = b.sub(prediction, target);
  // No axes: reduce over every axis, whatever the rank.
  const loss = b.op('ReduceMean', [b.mul(diff, diff)], { keepdims: 0 });
  return b.output(loss, name, prediction.dtype ?? 'float32');
}

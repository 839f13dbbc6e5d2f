// Losses appended to a forward graph before it is differentiated.
import type { GraphBuilder } from '../builder.ts';
import type { Value } from '../graph-core.ts';

/**
 * Mean squared error of `prediction` against a new graph input `target` of the same shape, as the
 * scalar output `loss` (the diffusion objective: predicted noise against the noise drawn); each squared
 * error multiplied by `weight` (broadcast, e.g. [batch, 1, 1, 1] per sample) when given.
 */
export function addMseLoss(b: GraphBuilder, prediction: Value, target: Value, name = 'loss', weight?: Value): Value {
  const diff = b.sub(prediction, target);
  const squared = b.mul(diff, diff);
  // No axes: reduce over every axis, whatever the rank.
  const loss = b.op('ReduceMean', [weight ? b.mul(squared, weight) : squared], { keepdims: 0 });
  return b.output(loss, name, prediction.dtype ?? 'float32');
}

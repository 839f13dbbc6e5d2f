// The numbers of a constant integer tensor (an initializer or a Constant node's value), as rules need
// for axes, Slice starts and the like.
import type { NodeProto, TensorProto } from '../proto.ts';
import { tensorFromProto } from '../tensor.ts';

export function constantInts(name: string, initializers: readonly TensorProto[], nodes: readonly NodeProto[]): number[] | undefined {
  const init = initializers.find((t) => t.name === name);
  const tensor = init ?? nodes.find((n) => n.opType === 'Constant' && n.output?.[0] === name)?.attribute?.find((a) => a.name === 'value')?.t;
  if (!tensor) return undefined;
  return Array.from(tensorFromProto(tensor).data as ArrayLike<number | bigint>, Number);
}

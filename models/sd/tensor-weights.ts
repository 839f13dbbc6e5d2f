import type { GraphBuilder, HostTensor, Value } from '../onnx/index.ts';
import { asFloat32, type WeightSource } from './weight-source.ts';

/** Weights held in memory by checkpoint key, embedded in the graph (tests, small models, merged LoRA). */
export class TensorWeights implements WeightSource {
  constructor(readonly tensors: ReadonlyMap<string, HostTensor>) {}

  param(b: GraphBuilder, local: string, shape: readonly number[]): Value {
    const key = b.scoped(local);
    const t = this.tensors.get(key);
    if (!t) throw new Error(`checkpoint has no ${key}`);
    if (t.dims.join() !== shape.join()) throw new Error(`${key}: checkpoint shape [${t.dims}], model expects [${shape}]`);
    const value = b.initializer(local, t);
    return asFloat32(b, value, t.dtype);
  }
}

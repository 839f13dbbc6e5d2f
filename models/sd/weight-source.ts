import type { DType, GraphBuilder, Value } from '../onnx/index.ts';

/**
 * Where architecture code gets its weights: by checkpoint (LDM) key and expected shape, as a float32
 * value in the graph. Implementations point initializers into a checkpoint file, or only record keys.
 */
export interface WeightSource {
  /** The weight `local` of the builder's current scope; its checkpoint key is b.scoped(local). */
  param(b: GraphBuilder, local: string, shape: readonly number[]): Value;
}

/** Architecture code computes in float32: half-precision weights get a Cast node after them. */
export function asFloat32(b: GraphBuilder, value: Value, dtype: DType): Value {
  return dtype === 'float32' ? value : b.cast(value, 'float32');
}

/** Records every key and shape the architecture asks for; the values are inputs no one feeds. */
export class ShapeRecorder implements WeightSource {
  readonly shapes = new Map<string, number[]>();

  param(b: GraphBuilder, local: string, shape: readonly number[]): Value {
    const key = b.scoped(local);
    if (this.shapes.has(key)) throw new Error(`weight ${key} requested twice`);
    this.shapes.set(key, [...shape]);
    return b.input(key, 'float32', shape);
  }
}

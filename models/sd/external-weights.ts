import { bytesPerElement, type DType, type GraphBuilder, type Value } from '../onnx/index.ts';
import { isNonWeightKey } from './checkpoint-keys.ts';
import { asFloat32, type WeightSource } from './weight-source.ts';

/** Where one checkpoint tensor's bytes are: a file relative to the weights folder, and the byte offset. */
export interface StoredTensor {
  file: string;
  offset: number;
  dtype: DType;
  dims: number[];
}

/** Every tensor of a checkpoint by LDM key (a diffusers folder's keys already mapped to LDM names). */
export type CheckpointIndex = ReadonlyMap<string, StoredTensor>;

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];

/**
 * Weights that stay in the checkpoint: each initializer points as external data into the file, so
 * nothing is copied. float16/bfloat16 tensors are cast to float32 in the graph. A stored shape that
 * differs from the model's only by size-1 axes (diffusers stores the VAE's 1x1 attention convs as
 * linear [C, C]) is read with the model's shape: the bytes are the same.
 */
export class ExternalWeights implements WeightSource {
  readonly used = new Set<string>();

  constructor(readonly index: CheckpointIndex) {}

  param(b: GraphBuilder, local: string, shape: readonly number[]): Value {
    const key = b.scoped(local);
    const t = this.index.get(key);
    if (!t) throw new Error(`checkpoint has no ${key}`);
    if (!FLOATS.includes(t.dtype)) throw new Error(`${key}: ${t.dtype} weights are not supported`);
    if (squeeze(t.dims).join() !== squeeze(shape).join()) {
      throw new Error(`${key}: checkpoint shape [${t.dims}], model expects [${shape}]`);
    }
    this.used.add(key);
    const count = shape.reduce((a, d) => a * d, 1);
    const value = b.externalInitializer(local, {
      dtype: t.dtype,
      dims: [...shape],
      external: { file: t.file, offset: t.offset, length: count * bytesPerElement(t.dtype) },
    });
    return asFloat32(b, value, t.dtype);
  }

  /** Checkpoint keys no graph asked for, other than known non-weights (call after building every part). */
  unused(): string[] {
    return [...this.index.keys()].filter((k) => !this.used.has(k) && !isNonWeightKey(k));
  }
}

function squeeze(dims: readonly number[]): number[] {
  return dims.filter((d) => d !== 1);
}

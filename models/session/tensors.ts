// Conversions between our HostTensor (models/onnx) and onnxruntime tensors.
import { DTYPES, type DType, type TypedArray } from '../onnx/dtype.ts';
import type { HostTensor } from '../onnx/tensor.ts';
import { ort, type OrtTensor } from './ort.ts';

/** Feeds as plain typed arrays with dims, or ready ORT tensors. */
export type Feed = HostTensor | OrtTensor;
export type Feeds = Record<string, Feed>;

export function toOrtTensor(t: Feed): OrtTensor {
  if (t instanceof ort.Tensor) return t;
  const host = t as HostTensor;
  // ORT's JS API has no bfloat16 tensors (graphs take bfloat16 weights only as initializers).
  if (host.dtype === 'string' || host.dtype === 'bfloat16') throw new Error(`${host.dtype} feeds are not supported`);
  // float16 is raw bits in a Uint16Array and bool a Uint8Array, which is what ORT expects.
  return new ort.Tensor(host.dtype, host.data as never, host.dims);
}

export function fromOrtTensor(t: OrtTensor): HostTensor {
  if (t.location !== 'cpu') throw new Error(`tensor on ${t.location}: download it before reading`);
  const dtype = t.type as DType;
  if (!DTYPES.includes(dtype) || dtype === 'string') throw new Error(`unsupported output type ${t.type}`);
  return { dtype, dims: [...t.dims], data: t.data as TypedArray };
}

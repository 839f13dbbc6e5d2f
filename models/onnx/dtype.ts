// Element types, named as onnxruntime's Tensor types are, with their ONNX numbers and byte sizes.
import { DataType } from './proto.ts';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from './half.ts';

export const DTYPES = [
  'float32', 'float16', 'bfloat16', 'float64', 'int8', 'uint8', 'int16', 'uint16',
  'int32', 'uint32', 'int64', 'uint64', 'bool', 'string',
] as const;
export type DType = (typeof DTYPES)[number];

interface DTypeInfo { onnx: number; bytes: number }

const INFO: Record<DType, DTypeInfo> = {
  float32: { onnx: DataType.FLOAT, bytes: 4 },
  float16: { onnx: DataType.FLOAT16, bytes: 2 },
  bfloat16: { onnx: DataType.BFLOAT16, bytes: 2 },
  float64: { onnx: DataType.DOUBLE, bytes: 8 },
  int8: { onnx: DataType.INT8, bytes: 1 },
  uint8: { onnx: DataType.UINT8, bytes: 1 },
  int16: { onnx: DataType.INT16, bytes: 2 },
  uint16: { onnx: DataType.UINT16, bytes: 2 },
  int32: { onnx: DataType.INT32, bytes: 4 },
  uint32: { onnx: DataType.UINT32, bytes: 4 },
  int64: { onnx: DataType.INT64, bytes: 8 },
  uint64: { onnx: DataType.UINT64, bytes: 8 },
  bool: { onnx: DataType.BOOL, bytes: 1 },
  string: { onnx: DataType.STRING, bytes: 0 },
};

const BY_ONNX = new Map(DTYPES.map((d) => [INFO[d].onnx, d]));

export function onnxDataType(dtype: DType): number {
  return INFO[dtype].onnx;
}

export function dtypeFromOnnx(dataType: number): DType {
  const dtype = BY_ONNX.get(dataType);
  if (!dtype) throw new Error(`unsupported ONNX data type ${dataType}`);
  return dtype;
}

/** Bytes per element (0 for string, which has no fixed size). */
export function bytesPerElement(dtype: DType): number {
  return INFO[dtype].bytes;
}

/** The typed arrays that hold tensor data. float16/bfloat16 are raw bits in a Uint16Array, bool a Uint8Array. */
export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

type TypedArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray };

const CTORS: Record<Exclude<DType, 'string'>, TypedArrayCtor> = {
  float32: Float32Array, float16: Uint16Array, bfloat16: Uint16Array, float64: Float64Array,
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array,
  uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
};

/** The natural dtype of a typed array (Uint16Array reads as uint16: say float16 explicitly). */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint64';
}

/** A typed array of `dtype` over little-endian `bytes`; copies only when `bytes` is misaligned. */
export function arrayFromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  if (dtype === 'string') throw new Error('string tensors have no typed array');
  const size = INFO[dtype].bytes;
  if (bytes.byteLength % size !== 0) throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  // new Uint8Array(x) copies (Buffer#slice would not).
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return new CTORS[dtype](aligned.buffer, aligned.byteOffset, aligned.byteLength / size);
}

/** A typed array of `dtype` holding `values` (float16/bfloat16 are rounded to their bits), e.g. for constants. */
export function arrayFromValues(dtype: DType, values: ArrayLike<number | bigint>): TypedArray {
  if (dtype === 'string') throw new Error('string tensors have no typed array');
  const out = new CTORS[dtype](values.length);
  const convert: (v: number | bigint) => number | bigint =
    dtype === 'int64' || dtype === 'uint64' ? BigInt
    : dtype === 'float16' ? (v) => float32ToFloat16Bits(Number(v))
    : dtype === 'bfloat16' ? (v) => float32ToBfloat16Bits(Number(v))
    : Number;
  for (let i = 0; i < values.length; i++) (out as unknown as (number | bigint)[])[i] = convert(values[i]!);
  return out;
}

export function bytesOfArray(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

// Tensors as the builder and readers hold them, and their TensorProto form.
// Data is always written as little-endian raw_data (the hosts we run on are little-endian).
import { arrayFromBytes, arrayFromValues, bytesOfArray, bytesPerElement, dtypeFromOnnx, elementCount, onnxDataType, type DType, type TypedArray } from './dtype.ts';
import { DataLocation, type TensorProto } from './proto.ts';

/** A tensor whose data is in memory. */
export interface HostTensor { dtype: DType; dims: number[]; data: TypedArray }

/** Where an external tensor's bytes live: `file` relative to the model's folder. */
export interface ExternalLocation { file: string; offset: number; length: number }

/** A tensor whose data stays in a file (for example straight inside a .safetensors checkpoint). */
export interface ExternalTensor { dtype: DType; dims: number[]; external: ExternalLocation }

export function isExternal(t: HostTensor | ExternalTensor): t is ExternalTensor {
  return 'external' in t;
}

export function tensorBytes(t: HostTensor | ExternalTensor): number {
  return isExternal(t) ? t.external.length : t.data.byteLength;
}

export function checkTensor(name: string, t: HostTensor | ExternalTensor): void {
  if (t.dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`tensor ${name}: bad dims [${t.dims}]`);
  const expected = elementCount(t.dims) * bytesPerElement(t.dtype);
  if (tensorBytes(t) !== expected) {
    throw new Error(`tensor ${name}: ${t.dtype}[${t.dims}] needs ${expected} bytes, got ${tensorBytes(t)}`);
  }
}

export function tensorToProto(name: string, t: HostTensor | ExternalTensor): TensorProto {
  checkTensor(name, t);
  const base = { name, dataType: onnxDataType(t.dtype), dims: t.dims };
  if (!isExternal(t)) return { ...base, rawData: bytesOfArray(t.data) };
  const { file, offset, length } = t.external;
  return {
    ...base,
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: file },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

/** The external location recorded in a TensorProto, or undefined when its data is inline. */
export function externalLocation(proto: TensorProto): ExternalLocation | undefined {
  if (proto.dataLocation !== DataLocation.EXTERNAL) return undefined;
  const entries = new Map((proto.externalData ?? []).map((e) => [e.key, e.value]));
  const file = entries.get('location');
  if (!file) throw new Error(`tensor ${proto.name}: external data without a location`);
  const dtype = dtypeFromOnnx(proto.dataType ?? 0);
  const length = entries.has('length')
    ? Number(entries.get('length'))
    : elementCount(proto.dims ?? []) * bytesPerElement(dtype);
  return { file, offset: Number(entries.get('offset') ?? 0), length };
}

/**
 * Reads a TensorProto's data. Inline data may be raw_data or the typed repeated fields; external
 * data is fetched through `readExternal` (the caller knows the model's folder).
 */
export function tensorFromProto(
  proto: TensorProto,
  readExternal?: (loc: ExternalLocation) => Uint8Array,
): HostTensor {
  const dtype = dtypeFromOnnx(proto.dataType ?? 0);
  const dims = proto.dims ?? [];
  const name = proto.name ?? '';
  const loc = externalLocation(proto);
  let data: TypedArray;
  if (loc) {
    if (!readExternal) throw new Error(`tensor ${name}: external data in ${loc.file} but no reader given`);
    data = arrayFromBytes(dtype, readExternal(loc));
  } else if (proto.rawData && proto.rawData.byteLength > 0) {
    data = arrayFromBytes(dtype, proto.rawData);
  } else {
    data = fromTypedFields(dtype, proto);
  }
  const t = { dtype, dims, data };
  checkTensor(name, t);
  return t;
}

// The repeated fields: float16/bfloat16/int8..uint16/bool sit in int32_data as raw bits or values.
function fromTypedFields(dtype: DType, proto: TensorProto): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(proto.floatData ?? []);
    case 'float64': return Float64Array.from(proto.doubleData ?? []);
    case 'int64': return arrayFromValues(dtype, proto.int64Data ?? []);
    case 'uint32': case 'uint64': return arrayFromValues(dtype, proto.uint64Data ?? []);
    case 'float16': case 'bfloat16': return Uint16Array.from(proto.int32Data ?? []);
    case 'string': throw new Error(`tensor ${proto.name}: string tensors are not supported`);
    default: return arrayFromValues(dtype, proto.int32Data ?? []);
  }
}

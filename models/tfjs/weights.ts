// Decodes a TF.js weightsManifest group into tensors. Entries sit back to back in the concatenation
// of the group's shards; quantised entries store float16 bits or uint8/uint16 codes for `min + scale*q`.
import { fromFloat16 } from '../onnx/half.ts';
import type { HostTensor } from '../onnx/tensor.ts';
import type { WeightEntry } from './model-json.ts';

const STORED_BYTES = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 } as const;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes an entry takes in the shards. */
export function storedByteLength(entry: WeightEntry): number {
  return elementCount(entry.shape) * STORED_BYTES[entry.quantization?.dtype ?? entry.dtype];
}

function copyAligned(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

function decodeEntry(entry: WeightEntry, bytes: Uint8Array): HostTensor {
  const dims = [...entry.shape];
  const q = entry.quantization;
  if (!q) {
    if (entry.dtype === 'float32') return { dtype: 'float32', dims, data: new Float32Array(copyAligned(bytes)) };
    if (entry.dtype === 'int32') return { dtype: 'int32', dims, data: new Int32Array(copyAligned(bytes)) };
    return { dtype: 'bool', dims, data: bytes.slice() };
  }
  if (q.dtype === 'float16') {
    if (entry.dtype !== 'float32') throw new Error(`weight ${entry.name}: float16 storage of ${entry.dtype}`);
    return { dtype: 'float32', dims, data: fromFloat16(new Uint16Array(copyAligned(bytes))) };
  }
  if (q.min === undefined || q.scale === undefined) {
    throw new Error(`weight ${entry.name}: ${q.dtype} quantisation without min/scale`);
  }
  const codes = q.dtype === 'uint8' ? bytes : new Uint16Array(copyAligned(bytes));
  const { min, scale } = q;
  if (entry.dtype === 'float32') {
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = min + scale * codes[i]!;
    return { dtype: 'float32', dims, data: out };
  }
  if (entry.dtype !== 'int32') throw new Error(`weight ${entry.name}: quantised ${entry.dtype}`);
  // Quantised integers are rounded back to whole values, as the TF.js loader does.
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = Math.round(min + scale * codes[i]!);
  return { dtype: 'int32', dims, data: out };
}

/** Decodes every entry of one manifest group from its shards (in `paths` order). */
export function decodeWeightGroup(entries: readonly WeightEntry[], shards: readonly Uint8Array[]): Map<string, HostTensor> {
  const total = shards.reduce((n, s) => n + s.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const s of shards) {
    all.set(s, at);
    at += s.byteLength;
  }
  const out = new Map<string, HostTensor>();
  let offset = 0;
  for (const entry of entries) {
    const length = storedByteLength(entry);
    if (offset + length > total) {
      throw new Error(`weight ${entry.name} needs bytes ${offset}..${offset + length}, shards hold ${total}`);
    }
    out.set(entry.name, decodeEntry(entry, all.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset !== total) throw new Error(`weights use ${offset} bytes of ${total} in the shards`);
  return out;
}

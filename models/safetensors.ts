// safetensors files: an 8-byte little-endian header length, a JSON header, then raw little-endian tensor
// bytes. Tensors are read one at a time through a file handle, so a 4 GB checkpoint is never loaded whole.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { arrayFromBytes, bytesOfArray, bytesPerElement, elementCount, type DType, type TypedArray } from './onnx/dtype.ts';
import type { ExternalLocation, HostTensor } from './onnx/tensor.ts';
import { tempBeside } from '../runtime/safe-open.ts';

const ST_TO_DTYPE = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32',
  I16: 'int16', I8: 'int8', U8: 'uint8', U16: 'uint16', U32: 'uint32', U64: 'uint64', BOOL: 'bool',
} as const satisfies Record<string, DType>;
type StDType = keyof typeof ST_TO_DTYPE;
const DTYPE_TO_ST = Object.fromEntries(Object.entries(ST_TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, StDType>;

const EntrySchema = z
  .object({
    dtype: z.enum(Object.keys(ST_TO_DTYPE) as [StDType, ...StDType[]]),
    shape: z.array(z.number().int().nonnegative()),
    data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  })
  .strict();

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  dims: number[];
  /** Byte range inside the file (absolute, header included). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Where tensor data starts: 8 + header length. */
  dataStart: number;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Reads and checks the header: known dtypes, byte sizes that match the shapes, ranges inside the file. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await open(file, 'r');
  try {
    return await readHeader(handle, file);
  } finally {
    await handle.close();
  }
}

async function readHeader(handle: FileHandle, file: string): Promise<SafetensorsHeader> {
  const fail = (why: string) => new SafetensorsError(`${basename(file)} is not a valid safetensors file: ${why}`);
  const { size } = await handle.stat();
  if (size < 8) throw fail('shorter than 8 bytes');
  const lengthBytes = Buffer.alloc(8);
  await handle.read(lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER || 8 + headerLength > size) throw fail(`header length ${headerLength} does not fit the file (${size} bytes)`);
  const headerBytes = Buffer.alloc(headerLength);
  await handle.read(headerBytes, 0, headerLength, 8);
  let json: unknown;
  try {
    json = JSON.parse(headerBytes.toString('utf8'));
  } catch (e) {
    throw fail(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      const m = z.record(z.string(), z.string()).safeParse(raw);
      if (!m.success) throw fail('__metadata__ must map strings to strings');
      metadata = m.data;
      continue;
    }
    const e = EntrySchema.safeParse(raw);
    if (!e.success) throw fail(`tensor "${name}": ${e.error.issues[0]!.message}`);
    const dtype = ST_TO_DTYPE[e.data.dtype];
    const [b, en] = e.data.data_offsets;
    const expected = elementCount(e.data.shape) * bytesPerElement(dtype);
    if (en - b !== expected) throw fail(`tensor "${name}" has ${en - b} bytes, its shape and dtype need ${expected}`);
    if (dataStart + en > size) throw fail(`tensor "${name}" runs past the end of the file (truncated?)`);
    entries.set(name, { name, dtype, dims: e.data.shape, begin: dataStart + b, end: dataStart + en });
  }
  const sorted = [...entries.values()].sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.begin < sorted[i - 1]!.end) throw fail(`tensors "${sorted[i - 1]!.name}" and "${sorted[i]!.name}" overlap`);
  }
  return { file, entries, metadata, dataStart };
}

/** Opens a file for reading tensors one at a time. Close it when done. */
export async function openSafetensors(file: string): Promise<SafetensorsReader> {
  const handle = await open(file, 'r');
  try {
    return new SafetensorsReader(handle, await readHeader(handle, file));
  } catch (e) {
    await handle.close();
    throw e;
  }
}

export class SafetensorsReader {
  constructor(
    private readonly handle: FileHandle,
    readonly header: SafetensorsHeader,
  ) {}

  get names(): string[] {
    return [...this.header.entries.keys()];
  }

  async tensor(name: string): Promise<HostTensor> {
    const entry = this.header.entries.get(name);
    if (!entry) throw new SafetensorsError(`${basename(this.header.file)} has no tensor "${name}"`);
    const bytes = new Uint8Array(entry.end - entry.begin);
    if (bytes.length) await this.handle.read(bytes, 0, bytes.length, entry.begin);
    return { dtype: entry.dtype, dims: entry.dims, data: arrayFromBytes(entry.dtype, bytes) };
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Reads every tensor and the metadata. For big checkpoints prefer `openSafetensors` and read by name. */
export async function readSafetensors(file: string): Promise<{ tensors: Map<string, HostTensor>; metadata: Record<string, string> }> {
  const reader = await openSafetensors(file);
  try {
    const tensors = new Map<string, HostTensor>();
    for (const name of reader.names) tensors.set(name, await reader.tensor(name));
    return { tensors, metadata: reader.header.metadata };
  } finally {
    await reader.close();
  }
}

/** Where a tensor's bytes are, as ONNX external data pointing straight into the file. */
export function externalLocationOf(header: SafetensorsHeader, name: string, file = basename(header.file)): ExternalLocation {
  const entry = header.entries.get(name);
  if (!entry) throw new SafetensorsError(`${basename(header.file)} has no tensor "${name}"`);
  return { file, offset: entry.begin, length: entry.end - entry.begin };
}

/**
 * Writes tensors (in name order, data starting 8-byte aligned) with string metadata; atomically (temp then rename).
 */
export async function writeSafetensors(file: string, tensors: Map<string, HostTensor> | Record<string, HostTensor>, metadata: Record<string, string> = {}): Promise<void> {
  const list = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors)))].sort(([a], [b]) => a.localeCompare(b));
  await writeSafetensorsStream(file, list.map(([name, t]) => ({ name, dtype: t.dtype, dims: t.dims })), list.map(([, t]) => t.data), metadata);
}

export interface TensorSpec {
  name: string;
  dtype: HostTensor['dtype'];
  dims: readonly number[];
}

/**
 * Writes tensors whose data arrive one at a time, in the order of `specs` (so a caller can make each
 * just before it is written and let it go after: peak memory is one tensor, not the file).
 * Atomic like `writeSafetensors`.
 */
export async function writeSafetensorsStream(
  file: string, specs: readonly TensorSpec[], data: Iterable<TypedArray> | AsyncIterable<TypedArray>, metadata: Record<string, string> = {},
): Promise<void> {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  const lengths = specs.map(({ name, dtype, dims }) => {
    if (dtype === 'string') throw new SafetensorsError(`tensor "${name}": string tensors cannot be stored`);
    const length = elementCount(dims) * bytesPerElement(dtype);
    header[name] = { dtype: DTYPE_TO_ST[dtype], shape: dims, data_offsets: [offset, offset + length] };
    offset += length;
    return length;
  });
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad the header with spaces so tensor data starts 8-byte aligned.
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  // A new file under a random name ('wx' never opens a file or link already there), renamed into place.
  const tmp = tempBeside(file);
  const handle = await open(tmp, 'wx');
  try {
    await handle.write(prefix);
    await handle.write(json);
    let i = 0;
    for await (const array of data) {
      const spec = specs[i];
      if (!spec) throw new SafetensorsError(`more tensor data than the ${specs.length} tensors declared`);
      if (array.byteLength !== lengths[i]) throw new SafetensorsError(`tensor "${spec.name}": data does not match dims ${JSON.stringify(spec.dims)}`);
      if (array.byteLength) await handle.write(bytesOfArray(array));
      i++;
    }
    if (i !== specs.length) throw new SafetensorsError(`tensor "${specs[i]!.name}": no data`);
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  await rename(tmp, file);
}

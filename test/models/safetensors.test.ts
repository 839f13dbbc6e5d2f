import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromBfloat16, fromFloat16, toBfloat16, toFloat16 } from '../../models/onnx/half.ts';
import type { HostTensor } from '../../models/onnx/tensor.ts';
import {
  externalLocationOf,
  openSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  writeSafetensorsStream,
} from '../../models/safetensors.ts';
import { tempDir } from '../helpers/temp.ts';

const dir = tempDir('st');

const tensors: Record<string, HostTensor> = {
  'f32.weight': { dtype: 'float32', dims: [2, 3], data: new Float32Array([1.5, -2, 3.25, 0, 1e-8, -7]) },
  'f16.weight': { dtype: 'float16', dims: [3], data: toFloat16([0.5, -1.25, 65504]) },
  'bf16.weight': { dtype: 'bfloat16', dims: [2], data: toBfloat16([3.140625, -0.5]) },
  f64: { dtype: 'float64', dims: [1], data: new Float64Array([Math.PI]) },
  i64: { dtype: 'int64', dims: [2], data: new BigInt64Array([-(2n ** 40n), 7n]) },
  i32: { dtype: 'int32', dims: [1], data: new Int32Array([-5]) },
  i8: { dtype: 'int8', dims: [2], data: new Int8Array([-128, 127]) },
  u8: { dtype: 'uint8', dims: [3], data: new Uint8Array([0, 128, 255]) },
  flag: { dtype: 'bool', dims: [2], data: new Uint8Array([1, 0]) },
  empty: { dtype: 'float32', dims: [0, 4], data: new Float32Array(0) },
};

describe('safetensors', () => {
  it('round-trips every dtype with metadata', async () => {
    const file = path.join(dir, 'all.safetensors');
    await writeSafetensors(file, tensors, { ss_network_dim: '4', note: 'ünïcode' });
    const { tensors: back, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({ ss_network_dim: '4', note: 'ünïcode' });
    expect([...back.keys()].sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) expect(back.get(name), name).toEqual(t);
    expect([...fromFloat16(back.get('f16.weight')!.data as Uint16Array)]).toEqual([0.5, -1.25, 65504]);
    expect([...fromBfloat16(back.get('bf16.weight')!.data as Uint16Array)]).toEqual([3.140625, -0.5]);
    // Tensor data starts 8-byte aligned, as the format recommends.
    expect((await readSafetensorsHeader(file)).dataStart % 8).toBe(0);
  });

  it('reads one tensor by name, and points external data at its bytes', async () => {
    const file = path.join(dir, 'one.safetensors');
    await writeSafetensors(file, tensors);
    const reader = await openSafetensors(file);
    try {
      expect(await reader.tensor('i64')).toEqual(tensors.i64);
      await expect(reader.tensor('nope')).rejects.toThrow(/one.safetensors has no tensor "nope"/);
      const loc = externalLocationOf(reader.header, 'f32.weight');
      expect(loc.file).toBe('one.safetensors');
      const raw = readFileSync(file).subarray(loc.offset, loc.offset + loc.length);
      expect(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))).toEqual(tensors['f32.weight']!.data);
    } finally {
      await reader.close();
    }
  });

  it('rejects truncated and corrupt files, naming the file and the problem', async () => {
    const good = path.join(dir, 'good.safetensors');
    await writeSafetensors(good, { w: tensors['f32.weight']! });
    const bytes = readFileSync(good);
    const write = (name: string, data: Uint8Array) => (writeFileSync(path.join(dir, name), data), path.join(dir, name));
    await expect(readSafetensorsHeader(write('short.safetensors', bytes.subarray(0, 5)))).rejects.toThrow(/short.safetensors .*shorter than 8 bytes/);
    await expect(readSafetensorsHeader(write('cut.safetensors', bytes.subarray(0, bytes.length - 4)))).rejects.toThrow(/cut.safetensors .*"w" runs past the end/);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const bad = Buffer.from(bytes);
    bad.write('{', 8 + headerLength - 1); // break the JSON's closing brace
    await expect(readSafetensorsHeader(write('json.safetensors', bad))).rejects.toThrow(/json.safetensors .*not JSON/);
    const header = (h: unknown) => {
      const json = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, Buffer.alloc(64)]);
    };
    await expect(readSafetensorsHeader(write('size.safetensors', header({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } })))).rejects.toThrow(/"w" has 8 bytes, its shape and dtype need 16/);
    await expect(readSafetensorsHeader(write('dtype.safetensors', header({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } })))).rejects.toThrow(/tensor "w"/);
    await expect(
      readSafetensorsHeader(write('overlap.safetensors', header({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }))),
    ).rejects.toThrow(/"a" and "b" overlap/);
  });
  it('streams tensors made one at a time in the declared order, and refuses data that does not fit', async () => {
    const file = path.join(dir, 'stream.safetensors');
    const specs = [
      { name: 'z.first', dtype: 'float32' as const, dims: [2] },
      { name: 'a.second', dtype: 'float16' as const, dims: [3] },
    ];
    const made: string[] = [];
    async function* data() {
      made.push('z.first');
      yield Float32Array.of(1, -2);
      made.push('a.second');
      yield toFloat16([0.5, 1, 2]);
    }
    await writeSafetensorsStream(file, specs, data(), { note: 'streamed' });
    expect(made).toEqual(['z.first', 'a.second']);
    const back = await readSafetensors(file);
    expect(back.metadata).toEqual({ note: 'streamed' });
    expect([...(back.tensors.get('z.first')!.data as Float32Array)]).toEqual([1, -2]);
    expect([...fromFloat16(back.tensors.get('a.second')!.data as Uint16Array)]).toEqual([0.5, 1, 2]);
    // Declared order is file order: the first tensor's bytes come first.
    const header = await readSafetensorsHeader(file);
    expect(header.entries.get('z.first')!.begin).toBeLessThan(header.entries.get('a.second')!.begin);

    const bad = path.join(dir, 'bad-stream.safetensors');
    await expect(writeSafetensorsStream(bad, specs, [Float32Array.of(1, 2, 3)])).rejects.toThrow(/"z.first": data does not match dims \[2\]/);
    await expect(writeSafetensorsStream(bad, specs, [Float32Array.of(1, 2)])).rejects.toThrow(/"a.second": no data/);
    expect(() => readFileSync(`${bad}.tmp`)).toThrow(/ENOENT/);
  });
});

import { describe, expect, it } from 'vitest';
import { float32ToFloat16Bits } from '../../models/onnx/half.ts';
import { opInventory, parseGraphModelJson, parseInputRef } from '../../models/tfjs/load.ts';
import type { WeightEntry } from '../../models/tfjs/model-json.ts';
import { decodeWeightGroup, storedByteLength } from '../../models/tfjs/weights.ts';

function bytes(arr: ArrayBufferView): Uint8Array {
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

describe('decodeWeightGroup', () => {
  it('decodes float32, int32, float16, uint8 and uint16 entries laid back to back across shards', () => {
    const entries: WeightEntry[] = [
      { name: 'f32', shape: [2], dtype: 'float32' },
      { name: 'i32', shape: [3], dtype: 'int32' },
      { name: 'f16', shape: [2, 1], dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
      { name: 'u8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.5, original_dtype: 'float32' } },
      { name: 'u16', shape: [1], dtype: 'float32', quantization: { dtype: 'uint16', min: 2, scale: 0.25, original_dtype: 'float32' } },
      { name: 'qint', shape: [2], dtype: 'int32', quantization: { dtype: 'uint8', min: 0, scale: 0.6, original_dtype: 'int32' } },
    ];
    const parts = [
      bytes(new Float32Array([1.5, -2])),
      bytes(new Int32Array([7, -8, 9])),
      bytes(Uint16Array.from([0.333, -65504].map(float32ToFloat16Bits))),
      new Uint8Array([0, 3, 255]),
      bytes(new Uint16Array([4])),
      new Uint8Array([5, 4]),
    ];
    const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.byteLength;
    }
    // Split at an odd offset, inside the int32 entry, as real shards split mid-tensor.
    const out = decodeWeightGroup(entries, [all.subarray(0, 11), all.subarray(11)]);
    expect(Array.from(out.get('f32')!.data as Float32Array)).toEqual([1.5, -2]);
    expect(out.get('i32')).toMatchObject({ dtype: 'int32', dims: [3] });
    expect(Array.from(out.get('i32')!.data as Int32Array)).toEqual([7, -8, 9]);
    const f16 = out.get('f16')!;
    expect(f16.dims).toEqual([2, 1]);
    expect((f16.data as Float32Array)[0]).toBeCloseTo(0.333, 3);
    expect((f16.data as Float32Array)[1]).toBe(-65504);
    expect(Array.from(out.get('u8')!.data as Float32Array)).toEqual([-1, 0.5, 126.5]);
    expect(Array.from(out.get('u16')!.data as Float32Array)).toEqual([3]);
    expect(Array.from(out.get('qint')!.data as Int32Array)).toEqual([3, 2]);
  });

  it('rejects shards that do not match the manifest', () => {
    const entries: WeightEntry[] = [{ name: 'w', shape: [4], dtype: 'float32' }];
    expect(storedByteLength(entries[0]!)).toBe(16);
    expect(() => decodeWeightGroup(entries, [new Uint8Array(12)])).toThrow(/needs bytes 0..16/);
    expect(() => decodeWeightGroup(entries, [new Uint8Array(20)])).toThrow(/use 16 bytes of 20/);
  });
});

describe('model.json reading', () => {
  it('validates the format and parses node input references', () => {
    expect(() => parseGraphModelJson(JSON.stringify({ format: 'layers-model' }))).toThrow();
    const json = parseGraphModelJson(JSON.stringify({
      format: 'graph-model',
      modelTopology: { node: [{ name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '3' }] } } } }, { name: 'y', op: 'Relu', input: ['x'] }, { name: 'z', op: 'Relu', input: ['y'] }] },
      weightsManifest: [],
    }));
    expect(json.modelTopology.node[0]!.attr?.shape?.shape?.dim?.map((d) => d.size)).toEqual([-1, 3]);
    expect(opInventory(json.modelTopology.node)).toEqual([['Relu', 2], ['Placeholder', 1]]);
    expect(parseInputRef('a/b:1')).toEqual({ node: 'a/b', output: 1, control: false });
    expect(parseInputRef('^a')).toEqual({ node: 'a', output: 0, control: true });
    expect(parseInputRef('a')).toEqual({ node: 'a', output: 0, control: false });
  });
});

// ONNX protobuf and file round trips, inline and with external data.
import { rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attr, decodeModel, encodeModel, GraphBuilder, tensorFromProto, toFloat16, type ModelProto } from '../../models/onnx/index.ts';
import { readModel, writeModel } from '../../models/onnx/io.ts';
import { ort } from '../../models/session/ort.ts';
import { tempDir } from '../helpers/temp.ts';

const dir = tempDir('onnx-io');
afterAll(() => rm(dir, { recursive: true, force: true }));

// y = x @ W + b with a 64x64 weight (16 KiB, goes external) and a small bias (stays inline).
function linearModel(): { model: ModelProto; w: Float32Array; bias: Float32Array } {
  const w = Float32Array.from({ length: 64 * 64 }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
  const bias = Float32Array.from({ length: 64 }, (_, i) => i / 64);
  const b = new GraphBuilder({ metadata: { source: 'test' } });
  const x = b.input('x', 'float32', ['batch', 64]);
  b.output(b.add(b.matMul(x, b.initializer('proj.weight', w, [64, 64])), b.initializer('proj.bias', bias)), 'y');
  return { model: b.toModel(), w, bias };
}

async function runLinear(session: ort.InferenceSession): Promise<Float32Array> {
  const x = new ort.Tensor('float32', Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)), [1, 64]);
  return (await session.run({ x })).y!.data as Float32Array;
}

describe('ONNX protobuf', () => {
  it('decodes what it encodes: nodes, attributes of every kind, initializers, types, metadata', () => {
    const b = new GraphBuilder({ opset: 18 });
    const x = b.input('x', 'float16', ['n', 3]);
    const y = b.op('Custom', [x, null, b.constant([1, 2], 'int64')], {
      i: 3, f: 0.25, forced: attr.float(2), s: 'text', ints: [1, -2], floats: [0.5, 1.5], strs: ['a', 'b'],
      t: attr.tensor({ dtype: 'float16', dims: [2], data: toFloat16([1, -2]) }),
    }, { domain: 'custom.domain', dtype: 'float16', shape: ['n', 3] });
    b.output(y, 'y');
    const model = decodeModel(encodeModel(b.toModel()));
    expect(model.irVersion).toBe(8);
    expect(model.opsetImport).toEqual([{ domain: '', version: 18 }, { domain: 'custom.domain', version: 1 }]);
    const node = model.graph!.node![0]!;
    expect(node).toMatchObject({ opType: 'Custom', domain: 'custom.domain', input: ['x', '', '/const'] });
    const attrs = Object.fromEntries(node.attribute!.map((a) => [a.name, a]));
    expect(attrs.i).toMatchObject({ type: 2, i: 3 });
    expect(attrs.f).toMatchObject({ type: 1, f: 0.25 });
    expect(attrs.forced).toMatchObject({ type: 1, f: 2 });
    expect(new TextDecoder().decode(attrs.s.s)).toBe('text');
    expect(attrs.ints).toMatchObject({ type: 7, ints: [1, -2] });
    expect(attrs.floats).toMatchObject({ type: 6, floats: [0.5, 1.5] });
    expect(attrs.strs.strings!.map((s: Uint8Array) => new TextDecoder().decode(s))).toEqual(['a', 'b']);
    expect([...tensorFromProto(attrs.t.t!).data]).toEqual([0x3c00, 0xc000]);
    expect(model.graph!.input![0]!.type!.tensorType).toEqual({ elemType: 10, shape: { dim: [{ dimParam: 'n' }, { dimValue: 3 }] } });
    expect(model.graph!.output![0]!.name).toBe('y');
    const c = tensorFromProto(model.graph!.initializer![0]!);
    expect(c).toEqual({ dtype: 'int64', dims: [2], data: new BigInt64Array([1n, 2n]) });
  });

  it('reads tensors stored in the typed repeated fields as other writers do', () => {
    expect(tensorFromProto({ dataType: 1, dims: [2], floatData: [1.5, -2] }).data).toEqual(new Float32Array([1.5, -2]));
    expect(tensorFromProto({ dataType: 7, dims: [1], int64Data: [-5] }).data).toEqual(new BigInt64Array([-5n]));
    expect(tensorFromProto({ dataType: 10, dims: [1], int32Data: [0x3c00] }).data).toEqual(new Uint16Array([0x3c00]));
    expect(tensorFromProto({ dataType: 9, dims: [2], int32Data: [1, 0] }).data).toEqual(new Uint8Array([1, 0]));
    expect(() => tensorFromProto({ dataType: 1, dims: [3], floatData: [1] })).toThrow(/needs 12 bytes, got 4/);
  });
});

describe('ONNX files', () => {
  it('round-trips a model with inline weights and runs it', async () => {
    const { model, w } = linearModel();
    const path = join(dir, 'inline.onnx');
    await writeModel(path, model);
    const back = await readModel(path);
    expect(back.metadataProps).toEqual([{ key: 'source', value: 'test' }]);
    expect(tensorFromProto(back.graph!.initializer![0]!).data).toEqual(w);
    const session = await ort.InferenceSession.create(path);
    const y = await runLinear(session);
    expect(y[0]).toBeCloseTo(w.reduce((acc, _, i) => (i % 64 === 0 ? acc + w[i]! * Math.cos(i / 64) : acc), 0), 4);
  });

  it('writes big weights to a side file, reads them back resolved, and ORT gives the same answers', async () => {
    const { model, w, bias } = linearModel();
    const inlinePath = join(dir, 'same.onnx');
    await writeModel(inlinePath, model);
    const path = join(dir, 'external.onnx');
    await writeModel(path, model, { externalData: {} });
    expect((await stat(path)).size).toBeLessThan(2000);
    expect((await stat(join(dir, 'external.onnx.data'))).size).toBe(64 * 64 * 4);

    const kept = await readModel(path);
    const [wt, bt] = kept.graph!.initializer!;
    expect(wt!.externalData).toEqual([
      { key: 'location', value: 'external.onnx.data' }, { key: 'offset', value: '0' }, { key: 'length', value: '16384' },
    ]);
    expect(() => tensorFromProto(wt!)).toThrow(/no reader given/);
    expect(tensorFromProto(bt!).data).toEqual(bias);

    const loaded = await readModel(path, { externalData: 'load' });
    expect(tensorFromProto(loaded.graph!.initializer![0]!).data).toEqual(w);
    // Loaded back, the model holds the same nodes and initializer values as the one written inline.
    const inline = await readModel(inlinePath);
    expect(loaded.graph!.node).toEqual(inline.graph!.node);
    expect(loaded.graph!.initializer!.map((t) => tensorFromProto(t))).toEqual(inline.graph!.initializer!.map((t) => tensorFromProto(t)));

    const [a, b] = await Promise.all([ort.InferenceSession.create(path), ort.InferenceSession.create(inlinePath)]);
    expect(await runLinear(a)).toEqual(await runLinear(b));
  });

  it('refuses external data that leaves the model folder', async () => {
    const { model } = linearModel();
    const inner = join(dir, 'inner');
    await writeModel(join(dir, 'outside.onnx'), model, { externalData: {} });
    await rm(join(dir, 'outside.onnx'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(inner);
    const retarget = async (location: string) => {
      const m = await readModel(join(dir, 'external.onnx'));
      m.graph!.initializer![0]!.externalData![0]!.value = location;
      await writeFile(join(inner, 'm.onnx'), encodeModel(m));
      return readModel(join(inner, 'm.onnx'), { externalData: 'load' });
    };
    await expect(retarget('../outside.onnx.data')).rejects.toThrow(/leaves the model folder/);
    await expect(retarget(join(dir, 'outside.onnx.data'))).rejects.toThrow(/is absolute/);
    await symlink(join(dir, 'outside.onnx.data'), join(inner, 'link.data'));
    await expect(retarget('link.data')).rejects.toThrow(/leaves the model folder/);
  });
});

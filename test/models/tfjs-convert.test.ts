// Each TF op mapping against the same op in TF.js (CPU backend), on small graphs built here.
import * as tf from '@tensorflow/tfjs';
import { useTfjsCpu } from '../helpers/tfjs.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '../../models/onnx/index.ts';
import { ort } from '../../models/session/ort.ts';
import { convertGraphModel } from '../../models/tfjs/convert/convert.ts';
import type { TfGraphModel } from '../../models/tfjs/load.ts';
import type { AttrValue, TfNode } from '../../models/tfjs/model-json.ts';

const s = (v: string): AttrValue => ({ s: Buffer.from(v).toString('base64') });
const ints = (...v: number[]): AttrValue => ({ list: { i: v } });
const strs = (...v: string[]): AttrValue => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } });
const i = (v: number): AttrValue => ({ i: v });
const b = (v: boolean): AttrValue => ({ b: v });

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let k = 0; k < n; k++) {
    x = (x * 16807) % 2147483647;
    out[k] = (x / 2147483647) * 2 - 1;
  }
  return out;
}

const f32 = (dims: number[], seed: number): HostTensor => ({ dtype: 'float32', dims, data: random(dims.reduce((a, c) => a * c, 1), seed) });
const i32 = (values: number[], dims = [values.length]): HostTensor => ({ dtype: 'int32', dims, data: Int32Array.from(values) });

/** A one-input graph: Placeholder `x` of `shape`, the given nodes, output `out`. */
function graph(shape: number[], nodes: TfNode[], consts: Record<string, HostTensor>): TfGraphModel {
  const all: TfNode[] = [
    { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: shape.map((size) => ({ size })) } } } },
    ...Object.keys(consts).map((name): TfNode => ({ name, op: 'Const' })),
    ...nodes,
  ];
  return {
    json: { format: 'graph-model', modelTopology: { node: all }, weightsManifest: [] },
    nodes: all,
    weights: new Map(Object.entries(consts)),
    files: [],
  };
}

async function runConverted(model: TfGraphModel, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const converted = convertGraphModel(model, { outputs: { y: 'out' } });
  const session = await ort.InferenceSession.create(converted.bytes);
  const res = await session.run({ x: new ort.Tensor('float32', x, shape) });
  return { data: res.y!.data as Float32Array, dims: res.y!.dims };
}

async function expectMatches(model: TfGraphModel, shape: number[], reference: (x: tf.Tensor) => tf.Tensor): Promise<void> {
  const x = random(shape.reduce((a, c) => a * c, 1), 7);
  const got = await runConverted(model, x, shape);
  const want = tf.tidy(() => reference(tf.tensor(x, shape)));
  expect([...got.dims]).toEqual(want.shape);
  const w = want.dataSync();
  let maxDiff = 0;
  for (let k = 0; k < w.length; k++) maxDiff = Math.max(maxDiff, Math.abs(w[k]! - got.data[k]!));
  want.dispose();
  expect(maxDiff).toBeLessThan(1e-4);
}

const t4 = (h: HostTensor) => tf.tensor4d(h.data as Float32Array, h.dims as [number, number, number, number]);

beforeAll(useTfjsCpu);

describe('convolutions and pools', () => {
  it('_FusedConv2D SAME stride 2 on odd sizes, with bias and Prelu (alpha as the 4th input)', async () => {
    const c = { w: f32([3, 3, 3, 4], 1), bias: f32([4], 2), alpha: f32([1, 1, 4], 3) };
    const m = graph([1, 7, 9, 3], [{
      name: 'out', op: '_FusedConv2D', input: ['x', 'w', 'bias', 'alpha'],
      attr: { strides: ints(1, 2, 2, 1), padding: s('SAME'), fused_ops: strs('BiasAdd', 'Prelu'), num_args: i(2) },
    }], c);
    await expectMatches(m, [1, 7, 9, 3], (x) => tf.prelu(tf.add(tf.conv2d(x as tf.Tensor4D, t4(c.w), 2, 'same'), tf.tensor(c.bias.data as Float32Array)), tf.tensor(c.alpha.data as Float32Array, [1, 1, 4])));
  });

  it('Conv2D with explicit padding and VALID stride 2', async () => {
    const c = { w: f32([2, 3, 2, 3], 4) };
    const m = graph([1, 6, 6, 2], [
      { name: 'a', op: 'Conv2D', input: ['x', 'w'], attr: { strides: ints(1, 1, 1, 1), padding: s('EXPLICIT'), explicit_paddings: ints(0, 0, 1, 2, 0, 1, 0, 0) } },
      { name: 'out', op: 'Conv2D', input: ['a', 'w2'], attr: { strides: ints(1, 2, 2, 1), padding: s('VALID') } },
    ], { ...c, w2: f32([3, 3, 3, 2], 5) });
    await expectMatches(m, [1, 6, 6, 2], (x) => {
      const a = tf.conv2d(x as tf.Tensor4D, t4(c.w), 1, [[0, 0], [1, 2], [0, 1], [0, 0]]);
      return tf.conv2d(a, t4(f32([3, 3, 3, 2], 5)), 2, 'valid');
    });
  });

  it('DepthwiseConv2dNative with channel multiplier 2, SAME stride 2, and the fused form with Relu6', async () => {
    const c = { w: f32([3, 3, 3, 2], 6), w2: f32([3, 3, 6, 1], 7), bias: f32([6], 8) };
    const m = graph([1, 8, 7, 3], [
      { name: 'a', op: 'DepthwiseConv2dNative', input: ['x', 'w'], attr: { strides: ints(1, 2, 2, 1), padding: s('SAME') } },
      { name: 'out', op: 'FusedDepthwiseConv2dNative', input: ['a', 'w2', 'bias'], attr: { strides: ints(1, 1, 1, 1), padding: s('VALID'), fused_ops: strs('BiasAdd', 'Relu6') } },
    ], c);
    await expectMatches(m, [1, 8, 7, 3], (x) => {
      const a = tf.depthwiseConv2d(x as tf.Tensor4D, t4(c.w), 2, 'same');
      return tf.relu6(tf.add(tf.depthwiseConv2d(a, t4(c.w2), 1, 'valid'), tf.tensor(c.bias.data as Float32Array)));
    });
  });

  it('Conv2DBackpropInput SAME stride 2 with odd kernels and an odd output size', async () => {
    const c = { w: f32([3, 3, 2, 4], 9), shape: i32([1, 9, 10, 2]) };
    const m = graph([1, 5, 5, 4], [
      { name: 'out', op: 'Conv2DBackpropInput', input: ['shape', 'w', 'x'], attr: { strides: ints(1, 2, 2, 1), padding: s('SAME') } },
    ], c);
    await expectMatches(m, [1, 5, 5, 4], (x) => tf.conv2dTranspose(x as tf.Tensor4D, t4(c.w), [1, 9, 10, 2], 2, 'same'));
  });

  it('AvgPool SAME excludes the padding from the mean; MaxPool VALID', async () => {
    const m = graph([1, 5, 6, 2], [
      { name: 'a', op: 'AvgPool', input: ['x'], attr: { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: s('SAME') } },
      { name: 'out', op: 'MaxPool', input: ['a'], attr: { ksize: ints(1, 2, 2, 1), strides: ints(1, 1, 1, 1), padding: s('VALID') } },
    ], {});
    await expectMatches(m, [1, 5, 6, 2], (x) => tf.maxPool(tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'), 2, 1, 'valid'));
  });

  it('DepthToSpace', async () => {
    const m = graph([1, 3, 4, 8], [{ name: 'out', op: 'DepthToSpace', input: ['x'], attr: { block_size: i(2) } }], {});
    await expectMatches(m, [1, 3, 4, 8], (x) => tf.depthToSpace(x as tf.Tensor4D, 2));
  });
});

describe('resizing, matrices and reductions', () => {
  it('ResizeBilinear with half-pixel centres and with align_corners, batch left dynamic', async () => {
    const c = { size: i32([7, 5]), size2: i32([4, 9]) };
    const m = graph([-1, 3, 4, 2], [
      { name: 'a', op: 'ResizeBilinear', input: ['x', 'size'], attr: { align_corners: b(false), half_pixel_centers: b(true) } },
      { name: 'out', op: 'ResizeBilinear', input: ['a', 'size2'], attr: { align_corners: b(true), half_pixel_centers: b(false) } },
    ], c);
    await expectMatches(m, [1, 3, 4, 2], (x) => tf.image.resizeBilinear(tf.image.resizeBilinear(x as tf.Tensor4D, [7, 5], false, true), [4, 9], true));
  });

  it('_FusedMatMul with transpose_b, bias and Relu; Mean without keep_dims', async () => {
    const c = { w: f32([5, 6], 10), bias: f32([5], 11), axes: i32([1, 2]) };
    const m = graph([1, 4, 3, 6], [
      { name: 'm', op: 'Mean', input: ['x', 'axes'], attr: { keep_dims: b(false) } },
      { name: 'out', op: '_FusedMatMul', input: ['m', 'w', 'bias'], attr: { transpose_a: b(false), transpose_b: b(true), fused_ops: strs('BiasAdd', 'Relu') } },
    ], c);
    await expectMatches(m, [1, 4, 3, 6], (x) => tf.relu(tf.add(tf.matMul(tf.mean(x, [1, 2]), tf.tensor2d(c.w.data as Float32Array, [5, 6]), false, true), tf.tensor(c.bias.data as Float32Array))));
  });

  it('Sum/Max with keep_dims, Softmax, elementwise ops and AddN', async () => {
    const c = { axis: i32([-1]), two: f32([1], 12) };
    const m = graph([2, 3, 4], [
      { name: 'sq', op: 'Square', input: ['x'] },
      { name: 'sum', op: 'Sum', input: ['sq', 'axis'], attr: { keep_dims: b(true) } },
      { name: 'r', op: 'Rsqrt', input: ['sum'] },
      { name: 'n', op: 'Mul', input: ['x', 'r'] },
      { name: 'mx', op: 'Max', input: ['x', 'axis'], attr: { keep_dims: b(true) } },
      { name: 'd', op: 'RealDiv', input: ['n', 'two'] },
      { name: 'sm', op: 'Softmax', input: ['d'] },
      { name: 'out', op: 'AddN', input: ['sm', 'mx', 'x'] },
    ], c);
    await expectMatches(m, [2, 3, 4], (x) => {
      const n = tf.mul(x, tf.rsqrt(tf.sum(tf.square(x), -1, true)));
      return tf.addN([tf.softmax(tf.div(n, tf.tensor(c.two.data as Float32Array))), tf.broadcastTo(tf.max(x, -1, true), [2, 3, 4]), x]);
    });
  });
});

describe('shape ops', () => {
  it('StridedSlice with begin/end/shrink/new-axis/ellipsis masks and negative strides', async () => {
    const c = {
      b1: i32([0, 1, 0]), e1: i32([0, 4, 2]), s1: i32([1, 2, 1]),
      b2: i32([0, -1]), e2: i32([0, 0]), s2: i32([1, -1]),
      b3: i32([0, 0, 1]), e3: i32([0, 0, 2]), s3: i32([1, 1, 1]),
    };
    const m = graph([2, 5, 3, 4], [
      // x[:, 1:4:2, 0:2]
      { name: 'a', op: 'StridedSlice', input: ['x', 'b1', 'e1', 's1'], attr: { begin_mask: i(1), end_mask: i(1), ellipsis_mask: i(0), new_axis_mask: i(0), shrink_axis_mask: i(0) } },
      // a[..., ::-1]
      { name: 'b', op: 'StridedSlice', input: ['a', 'b2', 'e2', 's2'], attr: { begin_mask: i(0), end_mask: i(2), ellipsis_mask: i(1), new_axis_mask: i(0), shrink_axis_mask: i(0) } },
      // b[:, newaxis, 1]
      { name: 'out', op: 'StridedSlice', input: ['b', 'b3', 'e3', 's3'], attr: { begin_mask: i(1), end_mask: i(1), ellipsis_mask: i(0), new_axis_mask: i(2), shrink_axis_mask: i(4) } },
    ], c);
    await expectMatches(m, [2, 5, 3, 4], (x) => {
      const a = x.slice([0, 1, 0, 0], [2, 3, 2, 4]).gather([0, 2], 1);
      const rev = tf.reverse(a, -1);
      return tf.expandDims(rev.gather(1, 1), 1);
    });
  });

  it('Reshape with -1, Pad, ConcatV2 with a negative axis, ExpandDims, Squeeze and Pack', async () => {
    const c = { shape: i32([1, -1, 6]), pads: i32([0, 0, 1, 2, 0, 0], [3, 2]), axis: i32([-1]), dim: i32([0]), ax0: i32([2]) };
    const m = graph([1, 4, 3, 2], [
      { name: 'r', op: 'Reshape', input: ['x', 'shape'] },
      { name: 'p', op: 'Pad', input: ['r', 'pads'] },
      { name: 'cat', op: 'ConcatV2', input: ['p', 'p', 'axis'] },
      { name: 'e', op: 'ExpandDims', input: ['cat', 'ax0'] },
      { name: 'sq', op: 'Squeeze', input: ['e'], attr: { squeeze_dims: ints(0) } },
      { name: 'out', op: 'Pack', input: ['sq', 'sq'], attr: { axis: i(1) } },
    ], c);
    await expectMatches(m, [1, 4, 3, 2], (x) => {
      const p = tf.pad(tf.reshape(x, [1, -1, 6]), [[0, 0], [1, 2], [0, 0]]);
      const sq = tf.squeeze(tf.expandDims(tf.concat([p, p], -1), 2), [0]);
      return tf.stack([sq, sq], 1);
    });
  });

  it('names what it cannot convert', () => {
    const m = graph([1, 2], [{ name: 'out', op: 'NonMaxSuppressionV5', input: ['x'] }], {});
    expect(() => convertGraphModel(m, { outputs: { y: 'out' } })).toThrow(/unsupported TF ops: NonMaxSuppressionV5/);
  });
});

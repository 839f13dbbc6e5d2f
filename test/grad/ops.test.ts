// Every gradient rule against central finite differences of loss = Σ op(x)·w in onnxruntime-node
// (float32, eps 1e-2, inputs of order one; errors come out near 1e-5, up to 3e-4 where 1/x curves). relError = max |analytic - numeric| / max |numeric|.
import { afterAll, describe, expect, it } from 'vitest';
import type { GraphBuilder, HostTensor, Value } from '../../models/onnx/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { finiteDifferenceCheck, opModel, randomTensor, type Feeds } from './grad-check.ts';

interface Case {
  name: string;
  inputs: (rng: Rng) => Feeds;
  build: (b: GraphBuilder, x: Record<string, Value>) => Value;
  /** Inputs to differentiate (default: all). */
  trainable?: string[];
  opset?: number;
}

const r = (dims: number[], scale = 1, offset = 0) => (rng: Rng) => randomTensor(dims, rng, scale, offset);
// Away from zero (kinks, poles, logs): |x| in [0.5, 1.5] with random signs, or positive.
const awayFromZero = (dims: number[], positive = false) => (rng: Rng): HostTensor => {
  const t = randomTensor(dims, rng);
  const data = (t.data as Float32Array).map((v) => (positive || v >= 0 ? 1 : -1) * (0.5 + Math.abs(v) % 1));
  return { ...t, data };
};
const feeds = (spec: Record<string, (rng: Rng) => HostTensor>) => (rng: Rng) =>
  Object.fromEntries(Object.entries(spec).map(([k, f]) => [k, f(rng)]));

const unary = (op: string, positive = false): Case => ({
  name: op,
  inputs: feeds({ x: awayFromZero([2, 3, 4], positive) }),
  build: (b, { x }) => b.op(op, [x]),
});

const cases: Case[] = [
  { name: 'Add (broadcast)', inputs: feeds({ a: r([2, 3, 4]), c: r([3, 1]) }), build: (b, { a, c }) => b.add(a!, c!) },
  { name: 'Sub (broadcast)', inputs: feeds({ a: r([2, 3, 4]), c: r([4]) }), build: (b, { a, c }) => b.sub(a!, c!) },
  { name: 'Mul (broadcast both ways)', inputs: feeds({ a: r([2, 1, 4]), c: r([3, 1]) }), build: (b, { a, c }) => b.mul(a!, c!) },
  { name: 'Div', inputs: feeds({ a: r([2, 3]), c: awayFromZero([3], true) }), build: (b, { a, c }) => b.div(a!, c!) },
  { name: 'Pow', inputs: feeds({ a: awayFromZero([2, 3], true), p: r([1], 0.5, 1.5) }), build: (b, { a, p }) => b.pow(a!, p!) },
  { name: 'Sum', inputs: feeds({ a: r([2, 3]), c: r([3]), d: r([2, 1]) }), build: (b, { a, c, d }) => b.op('Sum', [a, c, d]) },
  {
    name: 'Where', inputs: feeds({ s: r([2, 3]), a: r([2, 3]), c: r([3]) }), trainable: ['a', 'c'],
    build: (b, { s, a, c }) => b.where(b.op('Greater', [s, b.constant(0)]), a!, c!),
  },
  ...['Neg', 'Exp', 'Sin', 'Cos', 'Identity', 'Sigmoid', 'Tanh', 'Relu', 'Erf', 'Softmax'].map((op) => unary(op)),
  ...['Log', 'Sqrt', 'Reciprocal'].map((op) => unary(op, true)),
  { name: 'Cast (via float64)', inputs: feeds({ x: r([2, 3]) }), build: (b, { x }) => b.cast(b.mul(b.cast(x!, 'float64'), 3), 'float32') },
  { name: 'Gelu', inputs: feeds({ x: r([2, 5]) }), build: (b, { x }) => b.gelu(x!) },
  { name: 'Gelu (tanh)', inputs: feeds({ x: r([2, 5]) }), build: (b, { x }) => b.gelu(x!, 'tanh') },
  { name: 'Gelu as Erf (opset 17)', inputs: feeds({ x: r([2, 5]) }), build: (b, { x }) => b.gelu(x!), opset: 17 },
  { name: 'Softmax (axis 1)', inputs: feeds({ x: r([2, 3, 4]) }), build: (b, { x }) => b.softmax(x!, 1) },
  { name: 'MatMul [2,3,4]x[4,5]', inputs: feeds({ a: r([2, 3, 4]), c: r([4, 5]) }), build: (b, { a, c }) => b.matMul(a!, c!) },
  { name: 'MatMul batched', inputs: feeds({ a: r([2, 2, 3, 4]), c: r([2, 2, 4, 5]) }), build: (b, { a, c }) => b.matMul(a!, c!) },
  { name: 'MatMul broadcast batch', inputs: feeds({ a: r([2, 1, 3, 4]), c: r([3, 4, 5]) }), build: (b, { a, c }) => b.matMul(a!, c!) },
  ...[false, true].flatMap((transA) => [false, true].map((transB): Case => ({
    name: `Gemm transA=${+transA} transB=${+transB}`,
    inputs: feeds({ a: r(transA ? [4, 3] : [3, 4]), w: r(transB ? [5, 4] : [4, 5]), c: r([5]) }),
    build: (b, { a, w, c }) => b.gemm(a!, w!, c, { transA, transB, alpha: 0.7, beta: 1.3 }),
  }))),
  { name: 'Gemm C [3,1]', inputs: feeds({ a: r([3, 4]), w: r([4, 5]), c: r([3, 1]) }), build: (b, { a, w, c }) => b.gemm(a!, w!, c) },
  {
    name: 'Conv 3x3 stride 2 pad 1', inputs: feeds({ x: r([2, 3, 7, 7]), w: r([4, 3, 3, 3], 0.3), c: r([4]) }),
    build: (b, { x, w, c }) => b.conv(x!, w!, c, { strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv dilation 2, uneven pads', inputs: feeds({ x: r([1, 2, 8, 6]), w: r([3, 2, 3, 2], 0.3) }),
    build: (b, { x, w }) => b.conv(x!, w!, undefined, { dilations: [2, 1], pads: [1, 0, 2, 1], strides: [1, 2] }),
  },
  {
    name: 'Conv grouped (input only)', inputs: feeds({ x: r([2, 4, 5, 5]), w: r([6, 2, 3, 3], 0.3) }), trainable: ['x'],
    build: (b, { x, w }) => b.conv(x!, w!, undefined, { group: 2, pads: [1, 1, 1, 1] }),
  },
  { name: 'Reshape', inputs: feeds({ x: r([2, 3, 4]) }), build: (b, { x }) => b.mul(b.reshape(x!, [4, 6]), b.constant([1, 2, 3, 4, 5, 6], 'float32')) },
  { name: 'Transpose', inputs: feeds({ x: r([2, 3, 4]) }), build: (b, { x }) => b.mul(b.transpose(x!, [2, 0, 1]), b.constant([1, 2, 3], 'float32')) },
  { name: 'Concat', inputs: feeds({ a: r([2, 1, 3]), c: r([2, 2, 3]), d: r([2, 3, 3]) }), build: (b, { a, c, d }) => b.concat([a!, c!, d!], 1) },
  {
    name: 'Split (one piece unused)', inputs: feeds({ x: r([2, 6]) }),
    build: (b, { x }) => { const [p, , q] = b.split(x!, 1, 3); return b.mul(p!, q!); },
  },
  { name: 'Split (sizes)', inputs: feeds({ x: r([5, 2]) }), build: (b, { x }) => { const [p, q] = b.split(x!, 0, [2, 3]); return b.add(b.reduceSum(p!, [0]), b.reduceMean(b.mul(q!, q!), [0])); } },
  { name: 'Slice', inputs: feeds({ x: r([4, 5, 3]) }), build: (b, { x }) => b.slice(x!, [1, -4], [3, 100], [0, 1]) },
  { name: 'Unsqueeze, Squeeze, Flatten', inputs: feeds({ x: r([2, 3]) }), build: (b, { x }) => b.flatten(b.squeeze(b.unsqueeze(x!, [0, 3]), [0]), 1) },
  { name: 'Expand', inputs: feeds({ x: r([3, 1]) }), build: (b, { x }) => b.expand(x!, [2, 3, 4]) },
  { name: 'Resize nearest x2', inputs: feeds({ x: r([1, 2, 3, 3]) }), build: (b, { x }) => b.resize(x!, { scales: [1, 1, 2, 2], mode: 'nearest' }) },
  { name: 'Resize nearest x3,x2 asymmetric floor', inputs: feeds({ x: r([1, 2, 2, 3]) }), build: (b, { x }) => b.resize(x!, { scales: [1, 1, 3, 2], mode: 'nearest', coordinateTransformationMode: 'asymmetric', nearestMode: 'floor' }) },
  { name: 'ReduceMean (axis 1, kept)', inputs: feeds({ x: r([2, 3, 4]) }), build: (b, { x }) => b.reduceMean(x!, [1]) },
  { name: 'ReduceSum (axes 0,2, dropped)', inputs: feeds({ x: r([2, 3, 4]) }), build: (b, { x }) => b.reduceSum(x!, [0, -1], false) },
  { name: 'ReduceMean (all axes)', inputs: feeds({ x: r([2, 3]) }), build: (b, { x }) => b.mul(b.op('ReduceMean', [x], { keepdims: 0 }), x!) },
  { name: 'ReduceMean (opset 17, axes attribute)', inputs: feeds({ x: r([2, 3, 4]) }), build: (b, { x }) => b.reduceMean(x!, [2], false), opset: 17 },
  {
    name: 'LayerNormalization (last axis)', inputs: feeds({ x: r([2, 3, 5]), s: r([5], 0.5, 1), c: r([5]) }),
    build: (b, { x, s, c }) => b.layerNorm(x!, s!, c, { axis: -1 }),
  },
  {
    name: 'LayerNormalization (axes 1..)', inputs: feeds({ x: r([2, 3, 4]), s: r([3, 4], 0.5, 1), c: r([4]) }),
    build: (b, { x, s, c }) => b.layerNorm(x!, s!, c, { axis: 1, epsilon: 1e-3 }),
  },
  {
    name: 'GroupNormalization (opset 21)', inputs: feeds({ x: r([2, 6, 3, 3]), s: r([6], 0.5, 1), c: r([6]) }),
    build: (b, { x, s, c }) => b.groupNorm(x!, s!, c!, { groups: 3, epsilon: 1e-5 }),
  },
  {
    name: 'InstanceNormalization', inputs: feeds({ x: r([2, 3, 4, 4]), s: r([3], 0.5, 1), c: r([3]) }),
    build: (b, { x, s, c }) => b.instanceNorm(x!, s!, c!),
  },
  {
    name: 'GroupNorm decomposed (opset 17)', inputs: feeds({ x: r([2, 4, 3, 3]), s: r([4], 0.5, 1), c: r([4]) }), opset: 17,
    build: (b, { x, s, c }) => b.groupNorm(x!, s!, c!, { groups: 2, rank: 4 }),
  },
];

const report: string[] = [];

describe('gradient rules against finite differences', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const inputs = c.inputs(new Rng(1234));
    const { model, feeds: f } = await opModel(inputs, c.build, { opset: c.opset });
    const result = await finiteDifferenceCheck(model, f, c.trainable ?? Object.keys(inputs));
    report.push(`${c.name}: relError ${result.relError.toExponential(2)} over ${result.checked} entries (max |grad| ${result.scale.toFixed(3)})`);
    expect(result.scale).toBeGreaterThan(1e-2);
    expect(result.relError).toBeLessThan(1e-3);
  });

  afterAll(() => console.log(report.join('\n')));
});

describe('the finite-difference check', () => {
  it('catches a wrong rule (Sigmoid differentiated as if it were the identity)', async () => {
    const { model, feeds: f } = await opModel({ x: randomTensor([2, 3], new Rng(5)) }, (b, { x }) => b.sigmoid(x!));
    const result = await finiteDifferenceCheck(model, f, ['x'], { rules: { Sigmoid: (ctx) => [ctx.grad()] } });
    expect(result.relError).toBeGreaterThan(1);
  });
});

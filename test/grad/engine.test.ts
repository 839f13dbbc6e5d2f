// The reverse-mode engine itself: accumulation over several consumers, frozen weights, and its errors.
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, GraphBuilder } from '../../models/onnx/index.ts';
import { buildGradientGraph, gradName } from '../../models/onnx/grad/index.ts';
import { probeShapes } from '../../models/train/probe.ts';
import { Rng } from '../../runtime/rng.ts';
import { finiteDifferenceCheck, opModel, randomTensor, runSession, session } from './grad-check.ts';

const rng = () => new Rng(42);

describe('buildGradientGraph', () => {
  it('sums the gradients of a value used by several nodes', async () => {
    const { model, feeds } = await opModel({ x: randomTensor([3, 3], rng()) }, (b, { x }) => b.add(b.add(b.mul(x!, b.sigmoid(x!)), b.mul(x!, x!)), b.matMul(x!, b.transpose(x!, [1, 0]))));
    const result = await finiteDifferenceCheck(model, feeds, ['x']);
    expect(result.scale).toBeGreaterThan(0.1);
    expect(result.relError).toBeLessThan(1e-3);
  });

  it('differentiates a model read back from its bytes (attributes and constants as protobuf decodes them)', async () => {
    const { model, feeds } = await opModel(
      { x: randomTensor([1, 2, 6, 6], rng()), w: randomTensor([3, 2, 3, 3], rng(), 0.3) },
      (b, { x, w }) => b.softmax(b.slice(b.conv(x!, w!, undefined, { strides: [2, 2], pads: [1, 0, 1, 0] }), [1], [3], [1]), 1),
    );
    const result = await finiteDifferenceCheck(decodeModel(encodeModel(model)), feeds, ['x', 'w']);
    expect(result.scale).toBeGreaterThan(0.01);
    expect(result.relError).toBeLessThan(1e-3);
  });

  it('adds no gradient nodes for frozen weights', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const w = b.initializer('w', randomTensor([3, 4], rng()));
    const bias = b.initializer('bias', randomTensor([4], rng()));
    b.output(b.reduceSum(b.add(b.matMul(x, w), bias), [0, 1], false), 'loss');
    const model = b.toModel();
    const feeds = { x: randomTensor([2, 3], rng()) };
    const training = buildGradientGraph(model, { loss: 'loss', trainable: ['x'], infos: await probeShapes(model, feeds) });
    const backward = training.graph!.node!.slice(model.graph!.node!.length).map((n) => n.opType);
    // dL/dx = broadcast ones · wᵀ: spread the seed (Reshape, Expand), route it through Add to the
    // MatMul's output, one MatMul with the transposed weight, the output Identity. Nothing for w or bias.
    expect(backward).toEqual(['Reshape', 'Expand', 'Transpose', 'MatMul', 'Identity']);
    expect(training.graph!.output!.map((o) => o.name)).toEqual(['loss', gradName('x')]);
    const s = await session(training);
    const out = await runSession(s, feeds);
    await s.release();
    // Each row of dL/dx is the row sums of w.
    const wd = (model.graph!.initializer!.find((t) => t.name === 'w')!);
    const wv = new Float32Array(wd.rawData!.slice().buffer);
    const rowSums = [0, 1, 2].map((i) => wv[4 * i]! + wv[4 * i + 1]! + wv[4 * i + 2]! + wv[4 * i + 3]!);
    (out[gradName('x')]!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(rowSums[i % 3]!, 5));
  });

  it('names the op and node that has no gradient rule', async () => {
    const { model, feeds } = await opModel({ x: randomTensor([2, 3], rng()) }, (b, { x }) => b.mul(b.op('Round', [b.mul(x!, 3)], {}, { name: 'quantise' }), x!));
    const infos = await probeShapes(model, feeds);
    expect(() => buildGradientGraph(model, { loss: 'loss', trainable: ['x'], infos }))
      .toThrow('no gradient rule for Round (node /quantise) on the path from the trainable inputs to loss');
  });

  it('ignores ops without rules off the path (a rule-less op on a frozen branch)', async () => {
    const { model, feeds } = await opModel(
      { x: randomTensor([2, 3], rng()), c: randomTensor([2, 3], rng()) },
      (b, { x, c }) => b.mul(x!, b.op('Round', [c])),
    );
    const result = await finiteDifferenceCheck(model, feeds, ['x']);
    expect(result.relError).toBeLessThan(1e-3);
  });

  it('gives zeros for a trainable input the loss does not depend on, and refuses bad requests', async () => {
    const { model, feeds } = await opModel({ x: randomTensor([2, 3], rng()), unused: randomTensor([4], rng()) }, (b, { x }) => b.mul(x!, x!));
    const infos = await probeShapes(model, feeds);
    const training = buildGradientGraph(model, { loss: 'loss', trainable: ['x', 'unused'], infos });
    const s = await session(training);
    const out = await runSession(s, feeds);
    await s.release();
    expect([...(out[gradName('unused')]!.data as Float32Array)]).toEqual([0, 0, 0, 0]);
    expect(() => buildGradientGraph(model, { loss: 'loss', trainable: ['loss_weights'], infos })).toThrow('trainable loss_weights is not a graph input');
    expect(() => buildGradientGraph(model, { loss: 'y', trainable: ['x'], infos })).toThrow('no probed shape for y');
  });

  it('refuses a loss with more than one element', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2]);
    b.output(b.mul(x, x), 'y');
    const model = b.toModel();
    const infos = await probeShapes(model, { x: randomTensor([2], rng()) });
    expect(() => buildGradientGraph(model, { loss: 'y', trainable: ['x'], infos })).toThrow('loss y has shape [2], not one element');
  });
});

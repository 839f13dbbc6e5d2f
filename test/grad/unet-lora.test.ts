// The whole tiny SD UNet (standard-op attention) with rank-2 LoRA on every kohya target: gradients of
// an MSE loss with respect to the LoRA matrices against finite differences, and what the graph holds.
import { beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor, ModelProto } from '../../models/onnx/index.ts';
import { addMseLoss, buildGradientGraph, gradName, type ValueInfos } from '../../models/onnx/grad/index.ts';
import { probeShapes } from '../../models/train/probe.ts';
import { buildPart } from '../../models/sd/build.ts';
import { tiny } from '../../models/sd/config.ts';
import { loraInputNames, type LoraTarget } from '../../models/sd/lora-targets.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { Rng } from '../../runtime/rng.ts';
import { finiteDifferenceCheck, randomTensor, runSession, session } from './grad-check.ts';

const RANK = 2;
let model: ModelProto;
let targets: LoraTarget[];
let feeds: Record<string, HostTensor>;
let trainable: string[];
let infos: ValueInfos;

beforeAll(async () => {
  const built = buildPart(tiny, 'unet', new TensorWeights(randomWeights(tiny, 1)), { attention: 'decomposed' });
  const b = built.builder;
  addMseLoss(b, { name: 'eps', dtype: 'float32' }, b.input('target', 'float32', ['batch', 4, 'height', 'width']));
  model = b.toModel();
  targets = built.loraTargets;
  const rng = new Rng(3);
  feeds = {
    sample: randomTensor([1, 4, 8, 8], rng),
    timestep: { dtype: 'float32', dims: [1], data: Float32Array.of(500) },
    context: randomTensor([1, 6, tiny.unet.contextDim], rng),
    target: randomTensor([1, 4, 8, 8], rng),
  };
  // B is not zero (as it is at the start of training) so that dL/dA is not zero either.
  for (const t of targets) {
    const { a, b: bName } = loraInputNames(t);
    feeds[a] = randomTensor([t.in, RANK], rng, 0.3);
    feeds[bName] = randomTensor([RANK, t.out], rng, 0.3);
  }
  trainable = targets.flatMap((t) => Object.values(loraInputNames(t)));
  infos = await probeShapes(model, feeds);
});

describe('tiny UNet LoRA gradients', () => {
  it('match finite differences on the largest entries of a spread of targets', async () => {
    // Targets across the net: the first attention's q, a feed-forward, the middle block, the last proj_out.
    const picks = [0, 7, 20, 47].map((i) => targets[i]);
    const names = picks.flatMap((t) => Object.values(loraInputNames(t!)));
    const result = await finiteDifferenceCheck(model, feeds, names, { eps: 1e-2, count: 3, pick: 'largest' });
    console.log(`tiny UNet LoRA: relError ${result.relError.toExponential(2)} over ${result.checked} entries (max |grad| ${result.scale.toExponential(2)})`);
    expect(result.checked).toBe(3 * names.length);
    expect(result.scale).toBeGreaterThan(1e-4);
    expect(result.relError).toBeLessThan(2e-2);
  });

  it('has one gradient output per LoRA matrix and no gradient nodes for the frozen weights', () => {
    const training = buildGradientGraph(model, { loss: 'loss', trainable, infos });
    expect(training.graph!.output!.map((o) => o.name)).toEqual(['loss', ...trainable.map(gradName)]);
    const backward = training.graph!.node!.filter((n) => n.name!.startsWith('grad/'));
    // Frozen conv weights would need Conv (dW) nodes; inputs need only ConvTranspose.
    expect(backward.filter((n) => n.opType === 'Conv')).toEqual([]);
    expect(backward.filter((n) => n.opType === 'ConvTranspose').length).toBeGreaterThan(0);
    // A weight gradient of a linear layer is a Gemm with transA (activationsᵀ·g): there are exactly two
    // per LoRA target (dA, dB) and none for the frozen Gemm weights, which only pass g·W back.
    const transA = backward.filter((n) => n.opType === 'Gemm' && n.attribute!.some((a) => a.name === 'transA' && a.i === 1));
    expect(transA).toHaveLength(2 * targets.length);
  });

  it('names the fused attention op, which has no rule: training needs attention: "decomposed"', async () => {
    const fused = buildPart(tiny, 'unet', new TensorWeights(randomWeights(tiny, 1)), { attention: 'fused' }).builder;
    addMseLoss(fused, { name: 'eps', dtype: 'float32' }, fused.input('target', 'float32', ['batch', 4, 'height', 'width']));
    const m = fused.toModel();
    const fusedInfos = await probeShapes(m, feeds);
    expect(() => buildGradientGraph(m, { loss: 'loss', trainable, infos: fusedInfos }))
      .toThrow(/no gradient rule for com\.microsoft:MultiHeadAttention \(node model\.diffusion_model\.input_blocks\.1\.1\.transformer_blocks\.0\.attn1\/MultiHeadAttention\)/);
  });

  it('runs one training step as one session', async () => {
    const s = await session(buildGradientGraph(model, { loss: 'loss', trainable, infos }));
    await runSession(s, feeds);
    const runs = 5;
    const start = performance.now();
    let out: Record<string, HostTensor> = {};
    for (let i = 0; i < runs; i++) out = await runSession(s, feeds);
    const ms = (performance.now() - start) / runs;
    await s.release();
    console.log(`tiny UNet training step (forward + backward, 48 LoRA targets, 8x8 latent, 1 thread): ${ms.toFixed(1)} ms`);
    expect(Object.keys(out)).toHaveLength(1 + trainable.length);
    expect((out.loss!.data as Float32Array)[0]).toBeGreaterThan(0);
  });
});

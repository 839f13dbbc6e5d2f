// The shape probe cut segment by segment (each cut its own session, fed the values the earlier cuts
// handed on) finds the same dtype and shape for every value as one run of the whole graph.
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../models/onnx/index.ts';
import { addMseLoss } from '../../models/onnx/grad/index.ts';
import { probeShapes } from '../../models/train/probe.ts';
import { cutGraph } from '../../models/onnx/grad/cut.ts';
import { buildPart } from '../../models/sd/build.ts';
import { tiny } from '../../models/sd/config.ts';
import { loraInputNames } from '../../models/sd/lora-targets.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { unetSegment } from '../../models/train/step-graphs.ts';
import { Rng } from '../../runtime/rng.ts';
import { randomTensor } from '../grad/grad-check.ts';

// The tiny UNet's training graph (one head per attention group, so the cuts split attention as the
// trainer's recompute does) and feeds for a non-square latent, batch 2, rank-3 LoRA on every target.
function trainingGraph() {
  const built = buildPart(tiny, 'unet', new TensorWeights(randomWeights(tiny, 1)), { attention: 'decomposed', headsPerGroup: 1 });
  const b = built.builder;
  addMseLoss(b, { name: 'eps', dtype: 'float32' }, b.input('target', 'float32', ['batch', 4, 'height', 'width']));
  const rng = new Rng(5);
  const feeds: Record<string, HostTensor> = {
    sample: randomTensor([2, 4, 16, 8], rng),
    timestep: { dtype: 'float32', dims: [2], data: Float32Array.of(10, 900) },
    context: randomTensor([2, 7, tiny.unet.contextDim], rng),
    target: randomTensor([2, 4, 16, 8], rng),
  };
  for (const t of built.loraTargets) {
    const { a, b: bName } = loraInputNames(t);
    feeds[a] = randomTensor([t.in, 3], rng);
    feeds[bName] = randomTensor([3, t.out], rng);
  }
  return { model: b.toModel(), feeds };
}

describe('segment-by-segment shape probe', { timeout: 120_000 }, () => {
  it('agrees with the whole-graph probe on the tiny UNet training graph', async () => {
    const { model, feeds } = trainingGraph();
    const cuts = cutGraph(model.graph!, unetSegment, new Set());
    expect(cuts.length).toBeGreaterThan(20);
    let t = performance.now();
    const whole = await probeShapes(model, feeds);
    const wholeMs = performance.now() - t;
    t = performance.now();
    const segmented = await probeShapes(model, feeds, undefined, unetSegment);
    const segmentedMs = performance.now() - t;
    const nodeOutputs = model.graph!.node!.flatMap((n) => n.output ?? []).filter(Boolean);
    expect(nodeOutputs.length).toBeGreaterThan(900);
    expect(segmented.size).toBe(whole.size);
    for (const [name, info] of whole) expect(segmented.get(name), name).toEqual(info);
    // Non-square latents and the context length show up where they should.
    expect(whole.get('eps')).toEqual({ dtype: 'float32', dims: [2, 4, 16, 8] });
    expect(whole.get('loss')?.dims.reduce((a, d) => a * d, 1)).toBe(1);
    console.log(`${nodeOutputs.length} values probed in ${cuts.length} cuts, all equal to the whole-graph probe (${wholeMs.toFixed(0)} ms whole, ${segmentedMs.toFixed(0)} ms by cuts)`);
  });

  it('says which graph input is missing', async () => {
    const { model, feeds: { context: _, ...feeds } } = trainingGraph();
    await expect(probeShapes(model, feeds, undefined, unetSegment)).rejects.toThrow(/graph input context is not fed/);
  });
});

// Activation recompute (segments.ts) and head-grouped attention give the gradients of the one-graph
// training step: same loss, same LoRA gradients (UNet and, through the context, text encoder).
import { describe, expect, it } from 'vitest';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { initLoraParams } from '../../models/train/lora-params.ts';
import { StepGraphs, type StepShape } from '../../models/train/step-graphs.ts';
import { Rng } from '../../runtime/rng.ts';

describe('training step with recompute and grouped attention heads', { timeout: 600_000 }, () => {
  it('matches the one-graph step', async () => {
    const model = tinyModel(0);
    const base: StepShape = { batch: 2, side: 8, targets: 'all', textEncoder: true };
    const targets = StepGraphs.targets(model, base);
    const params = initLoraParams(targets, 2, 2, new Rng(1));
    const rng = new Rng(2);
    // B not zero (as after some training) so every gradient is non-trivial.
    for (const m of params.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = 0.3 * rng.normal();
    const captions = ['<sks>, a handsome man', '<sks>, a handsome man, smile'];
    const batch = {
      sample: rng.fillNormal(new Float32Array(2 * 4 * 8 * 8)),
      target: rng.fillNormal(new Float32Array(2 * 4 * 8 * 8)),
      timesteps: Float32Array.of(300, 800),
      captions,
    };
    const step = async (shape: StepShape) => {
      const graphs = await StepGraphs.create(model, shape, params, captions);
      // Time embedding, 6 input-block modules, 3 middle, 6 output-block modules, out; with one head per
      // group, each of the 6 transformers' 2 attentions adds its 2 heads and the rest of the block after them.
      expect(graphs.unetSegments).toBe(!shape.recompute ? 1 : shape.headsPerGroup ? 17 + 6 * 2 * 2 : 17);
      try {
        return await graphs.gradients(params, batch);
      } finally {
        await graphs.release();
      }
    };
    const plain = await step(base);
    let worst = 0;
    for (const shape of [{ ...base, recompute: true }, { ...base, headsPerGroup: 1 }, { ...base, recompute: true, headsPerGroup: 1 }]) {
      const other = await step(shape);
      expect(other.loss).toBeCloseTo(plain.loss, 6);
      expect(Object.keys(other.grads).sort()).toEqual(Object.keys(plain.grads).sort());
      for (const [name, g] of Object.entries(plain.grads)) {
        const a = g.data as Float32Array;
        const b = other.grads[name]!.data as Float32Array;
        const scale = Math.max(...a.map(Math.abs));
        expect(scale, name).toBeGreaterThan(0);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
      }
    }
    console.log(`largest gradient difference, relative to each tensor's largest entry: ${worst.toExponential(1)}`);
    expect(worst).toBeLessThan(1e-4);
  });
});

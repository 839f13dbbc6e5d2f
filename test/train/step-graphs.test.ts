// The text encoder's LoRA gradients by the chain rule (UNet graph -> d loss / d context -> text graph)
// against central finite differences of the step's loss.
import { describe, expect, it } from 'vitest';
import { gradName } from '../../models/onnx/grad/index.ts';
import { loraInputNames } from '../../models/sd/lora-targets.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { initLoraParams } from '../../models/train/lora-params.ts';
import { StepGraphs } from '../../models/train/step-graphs.ts';
import { Rng } from '../../runtime/rng.ts';

describe('training step graphs', () => {
  it('give the text-encoder LoRA the gradient finite differences of the UNet loss measure', async () => {
    const model = tinyModel(0);
    const shape = { batch: 1, side: 8, targets: 'attention' as const, textEncoder: true };
    const targets = StepGraphs.targets(model, shape);
    expect(targets.filter((t) => t.name.startsWith('lora_te_'))).toHaveLength(8);
    // alpha = rank: the fed B is B itself. B is not zero (as at the start of training) so dA is not zero.
    const params = initLoraParams(targets, 2, 2, new Rng(1));
    const rng = new Rng(2);
    for (const m of params.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = 0.3 * rng.normal();
    const caption = 'a photo of <sks>';
    const graphs = await StepGraphs.create(model, shape, params, [caption]);
    const batch = {
      sample: rng.fillNormal(new Float32Array(4 * 8 * 8)),
      target: rng.fillNormal(new Float32Array(4 * 8 * 8)),
      timesteps: Float32Array.of(400),
      captions: [caption],
    };
    try {
      const { grads } = await graphs.gradients(params, batch);
      let worst = 0;
      let checked = 0;
      for (const m of params.modules.filter((x) => x.target.name.startsWith('lora_te_'))) {
        const g = grads[gradName(loraInputNames(m.target).a)]!.data as Float32Array;
        // The entry with the largest gradient of each A.
        const i = g.reduce((best, v, k) => (Math.abs(v) > Math.abs(g[best]!) ? k : best), 0);
        const eps = 1e-2;
        const keep = m.a[i]!;
        m.a[i] = keep + eps;
        const up = (await graphs.gradients(params, batch)).loss;
        m.a[i] = keep - eps;
        const down = (await graphs.gradients(params, batch)).loss;
        m.a[i] = keep;
        const numeric = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(numeric - g[i]!) / Math.max(Math.abs(numeric), Math.abs(g[i]!), 1e-6));
        checked++;
      }
      console.log(`text-encoder LoRA gradients through the chain rule: worst relative error ${worst.toExponential(2)} over ${checked} entries`);
      expect(checked).toBe(8);
      expect(worst).toBeLessThan(3e-2);
    } finally {
      await graphs.release();
    }
  });
});

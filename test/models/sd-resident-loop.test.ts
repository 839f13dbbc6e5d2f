// The resident step loop (latents, text embeddings and LoRA A/B kept where the UNet runs; ORT's IO
// binding on GPU providers), exercised on the CPU provider: resident tensors fed back must give exactly
// what the same graphs give through host copies, and stay close to the host loop.
import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { sdModelFromWeights } from '../../models/sd/sd-model.ts';
import type { LoraBranches } from '../../models/sd/lora-feeds.ts';
import { sample, type SampleParams } from '../../models/sd/sample.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { SchedulerNameSchema } from '../../models/sd/schedulers/index.ts';
import { Rng } from '../../runtime/rng.ts';

const model = sdModelFromWeights('tiny-resident', tiny, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(randomWeights(tiny, 5)));
const params: SampleParams = { prompt: 'a photo of a woman', negativePrompt: 'blurry', steps: 5, width: 64, height: 64, seed: 42, cfg: 5, batch: 2 };

/** A LoRA schedule that changes every call: new random branches of rank 1-3 on some targets, none at call 2. */
function changingLora(): (i: number) => LoraBranches | undefined {
  return (i) => {
    if (i === 2) return undefined;
    const rng = new Rng(100 + i);
    const rank = 1 + (i % 3);
    const targets = model.loraTargets.unet.filter((_, k) => (k + i) % 2 === 0);
    return new Map(targets.map((t) => [t.name, {
      rank, a: rng.fillNormal(new Float32Array(t.in * rank)).map((v) => 0.2 * v), b: rng.fillNormal(new Float32Array(rank * t.out)).map((v) => 0.2 * v),
    }]));
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}

describe('the resident step loop on the CPU provider', () => {
  it('gives identical latents, previews and images with resident tensors as through host copies, LoRA changing every step', { timeout: 120_000 }, async () => {
    // DPM++ 2M keeps the last prediction, Euler a draws noise every step, PNDM repeats its first call.
    for (const scheduler of ['dpmpp_2m_karras', 'euler_a', 'pndm'] as const) {
      const run = async (loop: 'resident' | 'resident-copied') => {
        const previews: Float32Array[] = [];
        const latent = await sample(model, { ...params, scheduler }, { loop, unetLora: changingLora(), onStep: (s) => previews.push(s.latent.slice()) });
        return { latent, previews, images: await decodeLatents(model, latent) };
      };
      const [device, copied] = [await run('resident'), await run('resident-copied')];
      expect(device.previews.length).toBe(scheduler === 'pndm' ? params.steps! + 1 : params.steps);
      expect(Buffer.from(device.latent.data.buffer).equals(Buffer.from(copied.latent.data.buffer)), scheduler).toBe(true);
      device.previews.forEach((p, i) => expect(Buffer.from(p.buffer).equals(Buffer.from(copied.previews[i]!.buffer)), `${scheduler} step ${i}`).toBe(true));
      device.images.forEach((img, i) => expect(Buffer.from(img.data).equals(Buffer.from(copied.images[i]!.data)), `${scheduler} image ${i}`).toBe(true));
    }
  });

  it('stays within 1e-5 (relative to the largest value) of the host loop for every scheduler, with and without guidance', { timeout: 120_000 }, async () => {
    const errors: Record<string, number> = {};
    for (const scheduler of SchedulerNameSchema.options) {
      for (const cfg of [1, 5]) {
        const p = { ...params, scheduler, cfg, steps: 4 };
        const [host, resident] = [await sample(model, p, { loop: 'host', unetLora: changingLora() }), await sample(model, p, { loop: 'resident', unetLora: changingLora() })];
        // Float32 rounding only: the graphs sum each step's terms at once where the host rounds each axpby.
        errors[`${scheduler} cfg ${cfg}`] = maxDiff(host.data, resident.data) / Math.max(...host.data.map(Math.abs));
      }
    }
    for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThanOrEqual(1e-5);
  });

  it('is not the CPU default, and refuses masked sampling', async () => {
    const host = await sample(model, { ...params, steps: 2 });
    expect(Buffer.from(host.data.buffer).equals(Buffer.from((await sample(model, { ...params, steps: 2 }, { loop: 'host' })).data.buffer))).toBe(true);
    const init = { width: 64, height: 64, channels: 3 as const, data: new Uint8Array(64 * 64 * 3).fill(90) };
    const mask = { width: 64, height: 64, channels: 1 as const, data: new Uint8Array(64 * 64).fill(255) };
    await expect(sample(model, { ...params, steps: 2 }, { loop: 'resident', init, mask })).rejects.toThrow('does not inpaint');
  });
});

// Tiny SD at 512x512 (64x64 latents, CFG batch 2): UNet step time with rank-0 vs rank-4 LoRA inputs
// (goal: at most 1.05x) and the latent->RGB preview's share of sampling time (goal: under 3%).
import { tinyModel } from '../models/sd/tiny-model.ts';
import { loraFeeds, type LoraBranch } from '../models/sd/lora-feeds.ts';
import { latentPreview } from '../models/sd/latent-preview.ts';
import { sample } from '../models/sd/sample.ts';
import { Rng } from '../runtime/rng.ts';

const model = tinyModel(0);
const unet = await model.session('unet');
const rng = new Rng(1);
const size = 64;
const feeds = {
  sample: { dtype: 'float32' as const, dims: [2, 4, size, size], data: rng.fillNormal(new Float32Array(2 * 4 * size * size)) },
  timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.from([500, 500]) },
  context: { dtype: 'float32' as const, dims: [2, 77, model.config.unet.contextDim], data: rng.fillNormal(new Float32Array(2 * 77 * model.config.unet.contextDim)) },
};
const rank = 4;
const branches = new Map<string, LoraBranch>(model.loraTargets.unet.map((t) => [t.name, {
  rank, a: rng.fillNormal(new Float32Array(t.in * rank)), b: rng.fillNormal(new Float32Array(rank * t.out)),
}]));
const rank0 = { ...feeds, ...loraFeeds(model.loraTargets.unet) };
const rank4 = { ...feeds, ...loraFeeds(model.loraTargets.unet, branches) };

async function timeRuns(f: typeof rank0, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await unet.run(f);
  return (performance.now() - t) / n;
}
for (let i = 0; i < 3; i++) { await unet.run(rank0); await unet.run(rank4); } // warm-up
// Interleave rounds so drift in machine load hits both alike.
const rounds = 5;
let t0 = 0;
let t4 = 0;
for (let r = 0; r < rounds; r++) {
  t0 += await timeRuns(rank0, 4);
  t4 += await timeRuns(rank4, 4);
}
t0 /= rounds;
t4 /= rounds;
const ratio = t4 / t0;
console.log(`UNet step (tiny, 512x512, CFG batch 2, ${model.loraTargets.unet.length} LoRA targets): rank 0 ${t0.toFixed(1)} ms, rank 4 ${t4.toFixed(1)} ms, ratio ${ratio.toFixed(3)} (goal <= 1.05) ${ratio <= 1.05 ? 'OK' : 'MISSED'}`);

const params = { prompt: 'a portrait photo of a smiling woman', steps: 10, width: 512, height: 512, seed: 1, scheduler: 'euler_a' as const };
await sample(model, { ...params, steps: 2 }); // warm-up
let previewMs = 0;
const t = performance.now();
await sample(model, params, {
  onStep: (s) => {
    const p0 = performance.now();
    latentPreview(s.latent, 0, size, size);
    previewMs += performance.now() - p0;
  },
});
const total = performance.now() - t;
const share = (100 * previewMs) / total;
console.log(`preview: ${(previewMs / params.steps).toFixed(2)} ms/step, ${share.toFixed(2)}% of ${total.toFixed(0)} ms sampling (goal < 3%) ${share < 3 ? 'OK' : 'MISSED'}`);
await model.release();

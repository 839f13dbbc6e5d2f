// Where a UNet step's time goes between session set-ups, measured A/B in one process with the runs
// interleaved (so a busy machine slows every variant alike): a session on the main thread vs in a
// worker thread (ThreadSession: feeds copied in, outputs transferred back), and with ORT's memory arena
// vs without (the SD parts' default: the arena keeps a run's peak after it, 0.65 GB at 512x512).
// The model is an SD1.5-layout UNet of reduced width at 512x512 (64x64 latents, CFG batch 2), random
// weights, so the per-run costs outside ORT's kernels weigh at least as much as at full size.
import os from 'node:os';
import { buildPart } from '../models/sd/build.ts';
import { SdConfigSchema, sd15 } from '../models/sd/config.ts';
import { loraFeeds } from '../models/sd/lora-feeds.ts';
import { TensorWeights } from '../models/sd/tensor-weights.ts';
import { randomWeights } from '../models/sd/tiny-weights.ts';
import { ort, type OrtSession, type OrtSessionOptions } from '../models/session/ort.ts';
import { toOrtTensor } from '../models/session/tensors.ts';
import { ThreadSession } from '../models/session/thread-session.ts';
import { withThreads } from '../models/session/threads.ts';
import { Rng } from '../runtime/rng.ts';

const ROUNDS = 5;
const config = SdConfigSchema.parse({
  ...sd15, name: 'sd15-narrow',
  text: { ...sd15.text, width: 256, layers: 1, heads: 4, mlpWidth: 256 },
  unet: { ...sd15.unet, channels: [64, 128, 256, 256], contextDim: 256 },
  vae: { ...sd15.vae, channels: [16, 16, 32, 32], resBlocks: 1, groups: 8 },
});
const { builder, loraTargets } = buildPart(config, 'unet', new TensorWeights(randomWeights(config, 1)));
const model = builder.toBytes();
const rng = new Rng(2);
const feeds = Object.fromEntries(Object.entries({
  sample: { dtype: 'float32' as const, dims: [2, 4, 64, 64], data: rng.fillNormal(new Float32Array(2 * 4 * 64 * 64)) },
  timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(500, 500) },
  context: { dtype: 'float32' as const, dims: [2, 77, 256], data: rng.fillNormal(new Float32Array(2 * 77 * 256)) },
  ...loraFeeds(loraTargets),
}).map(([k, v]) => [k, toOrtTensor(v)]));

const base: OrtSessionOptions = { ...withThreads({ graphOptimizationLevel: 'extended' }), executionProviders: ['cpu'] };
const noArena: OrtSessionOptions = { ...base, enableCpuMemArena: false, enableMemPattern: false };
const variants: [string, () => Promise<OrtSession | ort.InferenceSession>][] = [
  ['main thread, arena', () => ort.InferenceSession.create(model, base)],
  ['worker thread, arena', () => ThreadSession.create(model, base)],
  ['worker thread, no arena', () => ThreadSession.create(model, noArena)],
];
const sessions = await Promise.all(variants.map(([, make]) => make()));
for (const s of sessions) await s.run(feeds); // first runs plan memory and warm up
const times = variants.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, s] of sessions.entries()) {
    const t = performance.now();
    await s.run(feeds);
    times[i]!.push(performance.now() - t);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ref = median(times[0]!)!;
console.log(`UNet step, ${config.name} (${(model.byteLength / 1e6).toFixed(0)} MB), 512x512 CFG batch 2, ${base.intraOpNumThreads} threads, ${ROUNDS} interleaved rounds, load ${os.loadavg()[0]!.toFixed(1)}`);
console.log('| session | median step | vs main thread |\n|---|---|---|');
for (const [i, [name]] of variants.entries()) {
  console.log(`| ${name} | ${(median(times[i]!)! / 1000).toFixed(3)} s | ${((median(times[i]!)! / ref - 1) * 100).toFixed(1)}% |`);
}
for (const s of sessions) await s.release();

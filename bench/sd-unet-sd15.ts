// The full-size SD1.5 UNet (860M parameters) on synthetic fp16 weights kept in a file as external data
// (what a real checkpoint looks like to the loader): session creation time, step time at 512x512 with
// CFG (batch 2), and the cost of rank-4 LoRA branches on all 192 targets (goal: at most 1.05x).
// Needs about 2 GB of temporary disk and 10 GB of memory; `SD_BENCH_SIZE=32` for a quicker 256x256 run.
// The synthetic weights (1.7 GB) go to the temp folder; `npm run bench` removes it after the bench, and a
// direct run keeps them there for the next one.
// opt-in: the full-size UNet needs about 10 GB of memory, 2 GB of disk and several minutes
import { statSync } from 'node:fs';
import path from 'node:path';
import { buildPart } from '../models/sd/build.ts';
import { sd15 } from '../models/sd/config.ts';
import { loraFeeds, type LoraBranch } from '../models/sd/lora-feeds.ts';
import { PartSession } from '../models/sd/part-session.ts';
import { Rng } from '../runtime/rng.ts';
import { sd15Weights } from './lib/sd15-weights.ts';

const { dir, file, weights } = await sd15Weights();
const built = buildPart(sd15, 'unet', weights);
let t = performance.now();
const unet = await PartSession.create(built.builder.toBytes(), { weightsDir: dir });
console.log(`SD1.5 UNet session created in ${((performance.now() - t) / 1000).toFixed(1)} s (${built.loraTargets.length} LoRA targets)`);

const size = Number(process.env.SD_BENCH_SIZE ?? 64);
const rng = new Rng(1);
const feeds = {
  sample: { dtype: 'float32' as const, dims: [2, 4, size, size], data: rng.fillNormal(new Float32Array(2 * 4 * size * size)) },
  timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.from([500, 500]) },
  context: { dtype: 'float32' as const, dims: [2, 77, 768], data: rng.fillNormal(new Float32Array(2 * 77 * 768)) },
};
const rank = 4;
const branches = new Map<string, LoraBranch>(built.loraTargets.map((tg) => [tg.name, {
  rank, a: rng.fillNormal(new Float32Array(tg.in * rank)).map((v) => v * 0.01), b: rng.fillNormal(new Float32Array(rank * tg.out)).map((v) => v * 0.01),
}]));
const rank0 = { ...feeds, ...loraFeeds(built.loraTargets) };
const rank4 = { ...feeds, ...loraFeeds(built.loraTargets, branches) };

t = performance.now();
const first = await unet.run(rank0);
console.log(`first step (includes lazy init): ${((performance.now() - t) / 1000).toFixed(1)} s`);
const eps = first.eps!.data as Float32Array;
if (!eps.every(Number.isFinite)) throw new Error('UNet output has non-finite values');
const time = async (f: typeof rank0) => {
  const s = performance.now();
  await unet.run(f);
  return performance.now() - s;
};
let t0 = 0;
let t4 = 0;
const rounds = 2;
for (let r = 0; r < rounds; r++) {
  t0 += await time(rank0);
  t4 += await time(rank4);
}
t0 /= rounds;
t4 /= rounds;
console.log(`SD1.5 UNet step ${size * 8}x${size * 8}, CFG batch 2: rank 0 ${(t0 / 1000).toFixed(2)} s, rank 4 ${(t4 / 1000).toFixed(2)} s, ratio ${(t4 / t0).toFixed(3)} (goal <= 1.05) ${t4 / t0 <= 1.05 ? 'OK' : 'MISSED'}`);
await unet.release();
console.log(`synthetic weights: ${(statSync(path.join(dir, file)).size / 1024 ** 3).toFixed(2)} GB in ${dir} (removed by \`npm run bench\`; delete it yourself after a direct run)`);

// FACECHAIN_SD_MEMORY=speed's optimised-graph cache on a random SD1.5-size fp16 checkpoint: the UNet's
// and the VAE decoder's sessions created the first time (ORT optimises at level 'all' and saves the
// graph into the converted cache) and from the cache (a new model over the same checkpoint), then a
// UNet step (512x512, CFG batch 2) and a VAE decode (512x512) on both sessions, interleaved (a busy
// machine slows both alike), best of 2, each session's first run left out (it plans memory). The saved graph was just written, so it is read from the page
// cache: a cold disk adds its read time (3.4 GB for the UNet).
// opt-in: SD1.5 at full size needs 6 GB of temporary disk, about 12 GB of memory and 4-5 minutes
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sd15 } from '../models/sd/config.ts';
import type { SdPart } from '../models/sd/build.ts';
import { loadSdModel } from '../models/sd/load-model.ts';
import { loraFeeds } from '../models/sd/lora-feeds.ts';
import type { PartSession } from '../models/sd/part-session.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { hashIndex } from '../models/store/hash.ts';
import { Rng } from '../runtime/rng.ts';
import { writeRandomCheckpoint } from './lib/random-checkpoint.ts';

const data = mkdtempSync(path.join(os.tmpdir(), 'fc-sd-speed-cache-'));
process.env.FACECHAIN_SD_MEMORY = 'speed';
try {
  const checkpoints = path.join(data, 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  writeFileSync(path.join(checkpoints, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  const file = path.join(checkpoints, 'sd15.safetensors');
  await writeRandomCheckpoint(file, sd15, 'float16');
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  // The cache key hashes the checkpoint once (remembered in .sha256.json by size and mtime).
  let t = performance.now();
  await hashIndex(data).sha256(file);
  const hashMs = performance.now() - t;
  const created = async (part: SdPart) => {
    const model = await loadSdModel('sd15.safetensors', data);
    const start = performance.now();
    const session = await model.session(part);
    return { model, session, ms: performance.now() - start };
  };
  const timedRuns = async (sessions: PartSession[], feeds: Parameters<PartSession['run']>[0]) => {
    for (const s of sessions) await s.run(feeds);
    const best = sessions.map(() => ({ wall: Infinity, cpu: 0 }));
    for (let round = 0; round < 2; round++) {
      for (const [i, s] of sessions.entries()) {
        const t0 = performance.now();
        const c = process.cpuUsage();
        await s.run(feeds);
        const u = process.cpuUsage(c);
        const wall = performance.now() - t0;
        if (wall < best[i]!.wall) best[i] = { wall, cpu: (u.user + u.system) / 1000 };
      }
    }
    return best.map((b) => `${seconds(b.wall)} (CPU ${seconds(b.cpu)})`);
  };
  const rng = new Rng(7);
  const rows: string[][] = [];
  for (const part of ['unet', 'vaeDecoder'] as const) {
    const first = await created(part);
    const cached = await created(part);
    const feeds: Parameters<PartSession['run']>[0] = part === 'unet'
      ? {
          sample: { dtype: 'float32' as const, dims: [2, 4, 64, 64], data: rng.fillNormal(new Float32Array(2 * 4 * 64 * 64)) },
          timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(500, 500) },
          context: { dtype: 'float32' as const, dims: [2, 77, 768], data: rng.fillNormal(new Float32Array(2 * 77 * 768)) },
          ...loraFeeds(cached.model.loraTargets.unet),
        }
      : { latent: { dtype: 'float32' as const, dims: [1, 4, 64, 64], data: rng.fillNormal(new Float32Array(4 * 64 * 64)) } };
    rows.push([part, seconds(first.ms), seconds(cached.ms), ...(await timedRuns([first.session, cached.session], feeds))]);
    await first.model.release();
    await cached.model.release();
  }
  const converted = path.join(data, 'converted');
  const savedGb = readdirSync(converted)
    .flatMap((d) => readdirSync(path.join(converted, d)).filter((f) => f.endsWith('.onnx.weights')).map((f) => statSync(path.join(converted, d, f)).size))
    .reduce((a, b) => a + b, 0) / 1e9;
  console.log(`\nSD1.5 fp16, FACECHAIN_SD_MEMORY=speed, load ${os.loadavg().map((l) => l.toFixed(1)).join('/')}; checkpoint hashed in ${seconds(hashMs)}; saved weights ${savedGb.toFixed(2)} GB`);
  console.log('| part | created, first (optimise + save) | created from the cache | run, first session | run, cached session |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  rmSync(data, { recursive: true, force: true });
}

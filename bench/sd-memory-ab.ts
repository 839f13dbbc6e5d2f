// FACECHAIN_SD_MEMORY A/B on a random SD1.5-size fp16 checkpoint, in one process with the runs
// interleaved (a busy machine slows every variant alike): the UNet step (512x512, CFG batch 2) and the
// VAE decode (512x512) with the default `lean` sessions (fp16 weights cast at use) against `speed`
// (weights folded to float32, ORT level `all`), the UNet's speed session also with prepacking
// and at level `extended` (folded, no NCHWc: faster to create).
// Wall and process CPU time per run; each session's first run is left out (it plans memory).
// opt-in: SD1.5 at full size needs 2 GB of temporary disk, about 13 GB of memory and 5-7 minutes
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sd15 } from '../models/sd/config.ts';
import type { SdPart } from '../models/sd/build.ts';
import { loadSdModel } from '../models/sd/load-model.ts';
import { loraFeeds } from '../models/sd/lora-feeds.ts';
import { PartSession } from '../models/sd/part-session.ts';
import { partOptions } from '../models/sd/sd-model.ts';
import type { SdMemory } from '../models/sd/fp16.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { Rng } from '../runtime/rng.ts';
import { writeRandomCheckpoint } from './lib/random-checkpoint.ts';

const ROUNDS = 2;
const data = mkdtempSync(path.join(os.tmpdir(), 'fc-sd-memory-'));
try {
  const checkpoints = path.join(data, 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  writeFileSync(path.join(checkpoints, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  await writeRandomCheckpoint(path.join(checkpoints, 'sd15.safetensors'), sd15, 'float16');
  const model = await loadSdModel('sd15.safetensors', data);
  const rng = new Rng(7);
  const session = async (part: SdPart, memory: SdMemory, o: { prepack?: boolean; optimization?: 'extended' } = {}) => {
    const graph = model.graph(part);
    const t = performance.now();
    const s = await PartSession.create('bytes' in graph ? graph.bytes : graph.path, { weightsDir: model.weightsDir, ...partOptions(part, 'cpu', memory), ...o });
    return { s, createMs: performance.now() - t };
  };
  const measure = async (label: string, variants: [string, () => ReturnType<typeof session>][], feeds: Parameters<PartSession['run']>[0]) => {
    const made = [];
    for (const [name, make] of variants) {
      const { s, createMs } = await make();
      await s.run(feeds);
      made.push({ name, s, createMs, wall: [] as number[], cpu: [] as number[] });
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of made) {
        const t = performance.now();
        const c = process.cpuUsage();
        await m.s.run(feeds);
        const u = process.cpuUsage(c);
        m.wall.push(performance.now() - t);
        m.cpu.push((u.user + u.system) / 1000);
      }
    }
    console.log(`\n${label}, ${ROUNDS} interleaved rounds, load ${os.loadavg().map((l) => l.toFixed(1)).join('/')}`);
    console.log('| session | created | best wall | CPU |\n|---|---|---|---|');
    for (const m of made) {
      const best = m.wall.indexOf(Math.min(...m.wall));
      console.log(`| ${m.name} | ${(m.createMs / 1000).toFixed(1)} s | ${(m.wall[best]! / 1000).toFixed(2)} s | ${(m.cpu[best]! / 1000).toFixed(1)} s |`);
      await m.s.release();
    }
  };
  await measure('UNet step 512x512, CFG batch 2', [
    ['lean', () => session('unet', 'lean')],
    ['speed', () => session('unet', 'speed')],
    ['speed, prepacking on', () => session('unet', 'speed', { prepack: true })],
    ['speed at level extended (no NCHWc)', () => session('unet', 'speed', { optimization: 'extended' })],
  ], {
    sample: { dtype: 'float32', dims: [2, 4, 64, 64], data: rng.fillNormal(new Float32Array(2 * 4 * 64 * 64)) },
    timestep: { dtype: 'float32', dims: [2], data: Float32Array.of(500, 500) },
    context: { dtype: 'float32', dims: [2, 77, 768], data: rng.fillNormal(new Float32Array(2 * 77 * 768)) },
    ...loraFeeds(model.loraTargets.unet),
  });
  await measure('VAE decode 512x512', [['lean', () => session('vaeDecoder', 'lean')], ['speed', () => session('vaeDecoder', 'speed')]], {
    latent: { dtype: 'float32', dims: [1, 4, 64, 64], data: rng.fillNormal(new Float32Array(4 * 64 * 64)) },
  });
} finally {
  rmSync(data, { recursive: true, force: true });
}

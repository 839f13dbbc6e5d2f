// Face detail's cost per face at the 512 working size against one txt2img at 512 with the same steps:
// the goal is at most 1.1x of steps x denoise (the face pass runs denoise x steps UNet calls, plus a
// VAE encode of its crop). Sessions are created before timing; each figure is the best of REPEATS.
// FACE_DETAIL_MODEL=demo (default: the built-in demo model) or sd15 (a random fp16 SD1.5-size
// checkpoint written to the temp folder; run it as `flock /tmp/facechain-heavy.lock npm run bench -- face-detail`).
// opt-in: a few minutes on the demo model; with FACE_DETAIL_MODEL=sd15, 5 GB of memory, 2 GB of temp disk and 10-30 minutes
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FaceModels } from '../models/face/face-models.ts';
import { detailFace } from '../models/post/face-detail.ts';
import { largestFace } from '../models/post/template-face.ts';
import { sd15 } from '../models/sd/config.ts';
import { loadSdModel } from '../models/sd/load-model.ts';
import { sample } from '../models/sd/sample.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { decodeLatents, encodeImage } from '../models/sd/vae-codec.ts';
import { demoPhoto } from '../test/fixtures/faces/photos.ts';
import { removeTempDirs, tempDir } from '../test/helpers/temp.ts';
import { writeRandomCheckpoint } from './lib/random-checkpoint.ts';

const which = process.env.FACE_DETAIL_MODEL ?? 'demo';
const STEPS = Number(process.env.FACE_DETAIL_STEPS ?? 20);
const DENOISE = 0.4;
const SIZE = 512;
const REPEATS = which === 'sd15' ? 1 : 3;

/** Best wall and process-CPU ms of `n` runs. */
async function best(n: number, f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await f();
    const used = process.cpuUsage(c);
    wall = Math.min(wall, performance.now() - t);
    cpu = Math.min(cpu, (used.user + used.system) / 1000);
  }
  return { wall, cpu };
}

const root = tempDir('face-detail-bench');
try {
  const models = path.join(root, 'models');
  let checkpoint = 'demo';
  if (which === 'sd15') {
    const dir = path.join(models, 'checkpoints');
    mkdirSync(path.join(dir, 'tokenizer'), { recursive: true });
    // The tiny tokenizer's ids fit SD1.5's vocabulary; the weights are random, so only the cost counts.
    writeFileSync(path.join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
    await writeRandomCheckpoint(path.join(dir, 'sd15.safetensors'), sd15, 'float16');
    checkpoint = 'sd15.safetensors';
  }
  const model = await loadSdModel(checkpoint, models);
  const faces = new FaceModels(path.join(root, 'face-models'));
  const photo = await demoPhoto(3);
  const rgb = { ...photo, channels: 3 as const, data: photo.channels === 3 ? photo.data : photo.data.filter((_, i) => i % 4 !== 3) };
  const face = largestFace(await faces.detect(rgb));
  if (!face) throw new Error('no face in the bench photo');

  const params = { prompt: 'a photo of a woman', steps: STEPS, cfg: 7, seed: 1, scheduler: 'ddim', width: SIZE, height: SIZE } as const;
  const detail = { ...params, denoise: DENOISE, size: SIZE };
  const txt2img = async () => decodeLatents(model, await sample(model, params));
  const onFace = () => detailFace(model, rgb, face, detail);
  // Warm-up: every session (the face pass also opens the VAE encoder) exists before timing.
  await txt2img();
  await onFace();

  const t = await best(REPEATS, txt2img);
  const f = await best(REPEATS, onFace);
  const ratio = f.wall / t.wall;
  // Where the time goes: the UNet loop, and the VAE passes that do not shrink with denoise.
  const latent = await sample(model, params);
  const loop = await best(REPEATS, () => sample(model, params));
  const decode = await best(REPEATS, () => decodeLatents(model, latent));
  const crop = { width: SIZE, height: SIZE, channels: 3 as const, data: new Uint8Array(SIZE * SIZE * 3).fill(120) };
  const encode = await best(REPEATS, () => encodeImage(model, crop));
  console.log(`model ${which}, ${STEPS} DDIM steps, CFG 7, ${SIZE}x${SIZE}; face ${Math.round(face.box.width)} px, denoise ${DENOISE}`);
  console.log(`txt2img (sample + decode): ${(t.wall / 1000).toFixed(2)} s wall, ${(t.cpu / 1000).toFixed(2)} s CPU`);
  console.log(`face detail per face (crop, encode, sample, decode, paste): ${(f.wall / 1000).toFixed(2)} s wall, ${(f.cpu / 1000).toFixed(2)} s CPU`);
  console.log(`parts: UNet loop ${(loop.wall / 1000 / STEPS).toFixed(3)} s per step, VAE decode ${(decode.wall / 1000).toFixed(2)} s, VAE encode ${(encode.wall / 1000).toFixed(2)} s (wall)`);
  console.log(`face / txt2img: ${ratio.toFixed(3)} wall, ${(f.cpu / t.cpu).toFixed(3)} CPU; per unit of steps x denoise: ${(ratio / DENOISE).toFixed(2)}x wall, ${(f.cpu / t.cpu / DENOISE).toFixed(2)}x CPU (goal <= 1.1x)`);
  await model.release();
} finally {
  removeTempDirs();
}

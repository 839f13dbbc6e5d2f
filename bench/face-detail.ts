// Face detail's cost per face at the 512 working size against one txt2img at 512 with steps x denoise
// steps (the comparison: the face pass runs round(steps x denoise) UNet calls, so the goal of
// <= 1.1x leaves room for what the face adds: its VAE encode, detection, masks and paste). The txt2img
// side is sample + VAE decode; the face side is the node's whole pass over a photo: detection (with the
// mesh), the crop and masks, the VAE encode, sampling under the mask, the decode and the paste of its
// largest face. Sessions exist before timing (a warm-up of each side); runs alternate, best of REPEATS.
// FACE_DETAIL_MODEL=demo (default: the built-in demo model) or sd15 (a random fp16 SD1.5-size
// checkpoint written to the temp folder; run it as `flock /tmp/facechain-heavy.lock npm run bench -- face-detail`).
// CPU (FACECHAIN_EP=cpu unless set), the machine's threads.
// opt-in: a few minutes on the demo model; with FACE_DETAIL_MODEL=sd15, 5 GB of memory, 2 GB of temp disk and 5-15 minutes
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FaceModels } from '../models/face/face-models.ts';
import { detailImage } from '../models/post/face-detail-image.ts';
import { cropBox, DECODE_MARGIN, faceMask, maskWindow } from '../models/post/face-detail.ts';
import { latentFactor, sd15 } from '../models/sd/config.ts';
import { loadSdModel } from '../models/sd/load-model.ts';
import { sample } from '../models/sd/sample.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { decodeLatents, encodeImage } from '../models/sd/vae-codec.ts';
import { demoPhoto } from '../test/fixtures/faces/photos.ts';
import { removeTempDirs, tempDir } from '../test/helpers/temp.ts';
import { writeRandomCheckpoint } from './lib/random-checkpoint.ts';

process.env.FACECHAIN_EP ??= 'cpu';
const which = process.env.FACE_DETAIL_MODEL ?? 'demo';
const STEPS = Number(process.env.FACE_DETAIL_STEPS ?? 20);
const DENOISE = 0.4;
const SIZE = 512;
const REPEATS = which === 'sd15' ? 1 : 3;
/** The txt2img side's steps: as many UNet calls as the face pass makes. */
const SHORT = Math.round(STEPS * DENOISE);

interface Timing {
  wall: number;
  cpu: number;
}

async function timed(f: () => Promise<unknown>): Promise<Timing> {
  const t = performance.now();
  const c = process.cpuUsage();
  await f();
  const used = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
}

const bestOf = (ts: Timing[]): Timing => ({ wall: Math.min(...ts.map((t) => t.wall)), cpu: Math.min(...ts.map((t) => t.cpu)) });
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

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

  const params = { prompt: 'a photo of a woman', steps: SHORT, cfg: 7, seed: 1, scheduler: 'ddim', width: SIZE, height: SIZE } as const;
  const detail = {
    prompt: params.prompt, steps: STEPS, cfg: 7, seed: 1, scheduler: 'ddim', denoise: DENOISE, size: SIZE,
    faces: 'largest', index: 0, minSize: 1, maxFaces: 1,
  } as const;
  let calls = 0;
  const txt2img = async () => decodeLatents(model, await sample(model, params));
  const onFace = async () => {
    const r = await detailImage(model, faces, rgb, detail, [], undefined, [], { onStep: (_k, _n, i) => void (calls = i + 1) });
    if (r.faces.length !== 1) throw new Error(`expected one face, repainted ${r.faces.length}`);
    return r;
  };
  // Warm-up: every session (UNet, VAE decoder and encoder, text encoder, face models) exists and has run.
  await decodeLatents(model, await sample(model, { ...params, steps: 1 }));
  const warm = await detailImage(model, faces, rgb, { ...detail, steps: 2, denoise: 0.5 }, [], undefined, []);
  const face = warm.faces[0]!.job.face;

  const t: Timing[] = [];
  const f: Timing[] = [];
  for (let r = 0; r < REPEATS; r++) {
    t.push(await timed(txt2img));
    f.push(await timed(onFace));
  }
  const tb = bestOf(t);
  const fb = bestOf(f);

  // Where the face's time goes beside the UNet loop: detection, the VAE encode of the crop, the decode
  // of the face's window (against the whole crop's).
  const latent = await sample(model, { ...params, steps: 1 });
  const factor = latentFactor(model.config.vae);
  const crop = cropBox(face, rgb.width, rgb.height, 0.5);
  const win = maskWindow(await faceMask(face, crop, SIZE, { dilation: 0.08, feather: 0.04 }), factor, DECODE_MARGIN);
  const part = { ...latent, data: new Float32Array(4 * (win.x1 - win.x0) * (win.y1 - win.y0)), width: win.x1 - win.x0, height: win.y1 - win.y0 };
  const grey = { width: SIZE, height: SIZE, channels: 3 as const, data: new Uint8Array(SIZE * SIZE * 3).fill(120) };
  const parts = { detect: [] as Timing[], encode: [] as Timing[], decode: [] as Timing[], window: [] as Timing[] };
  for (let r = 0; r < REPEATS; r++) {
    parts.detect.push(await timed(() => faces.detect(rgb)));
    parts.encode.push(await timed(() => encodeImage(model, grey)));
    parts.decode.push(await timed(() => decodeLatents(model, latent)));
    parts.window.push(await timed(() => decodeLatents(model, part)));
  }
  const [detect, encode, decode, window] = [parts.detect, parts.encode, parts.decode, parts.window].map(bestOf);
  const ratio = fb.wall / tb.wall;
  const cpuRatio = fb.cpu / tb.cpu;
  console.log(`model ${which}, DDIM, CFG 7, ${SIZE}x${SIZE}; face ${Math.round(face.box.width)} px in a ${rgb.width}x${rgb.height} photo, crop ${crop.side} px, denoise ${DENOISE} of ${STEPS} steps = ${calls} UNet calls`);
  console.log(`txt2img, ${SHORT} steps (sample + decode): ${s(tb.wall)} wall, ${s(tb.cpu)} CPU`);
  console.log(`face detail, one face (detect, crop, masks, encode, ${calls} steps, decode, paste): ${s(fb.wall)} wall, ${s(fb.cpu)} CPU`);
  console.log(`parts (wall): detection ${s(detect!.wall)}, VAE encode ${s(encode!.wall)}, VAE decode of the crop ${s(decode!.wall)}, of the face's window (${win.x1 - win.x0}x${win.y1 - win.y0} of ${latent.width}x${latent.height} latent px) ${s(window!.wall)}`);
  console.log(`face / txt2img of steps x denoise: ${ratio.toFixed(3)}x wall, ${cpuRatio.toFixed(3)}x CPU (goal <= 1.1x)`);
  await model.release();
} finally {
  removeTempDirs();
}

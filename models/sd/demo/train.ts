// `npm run demo:train [-- --steps N,M --seed S --out file --save-every K --from file --phase P --loras --no-loras]`: trains the demo model's UNet (every
// weight, from seeded random values) on the bundled portraits and writes models/sd/demo/demo.safetensors
// (fp16, LDM layout): tiny's seeded text encoder, the picture-keeping VAE and the trained UNet.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { toImage } from '../../../runtime/image-io.ts';
import { DEMO_LORA_DIR, portraitCrops } from '../../../runtime/sample-inputs.ts';
import { fromFloat16, toFloat16 } from '../../onnx/half.ts';
import type { HostTensor } from '../../onnx/index.ts';
import { readSafetensors, writeSafetensors } from '../../safetensors.ts';
import { TrainingSet } from '../../train/training-set.ts';
import { trainUnet, type UnetTrainSettings } from '../../train/train-unet.ts';
import { LDM_PREFIX } from '../checkpoint-names.ts';
import { clipTokenizerFromJson } from '../clip-tokenizer.ts';
import { demo } from '../config.ts';
import { setPictureVae } from '../picture-vae.ts';
import { sdModelFromWeights } from '../sd-model.ts';
import { TensorWeights } from '../tensor-weights.ts';
import { tinyClipTokenizerJson } from '../tiny-tokenizer.ts';
import { trainDemoLoras } from './loras.ts';
import { randomWeights } from '../tiny-weights.ts';
import { at } from '../../../protocol/index.ts';

export const DEMO_RESOLUTION = 256;
const MAN = path.join(import.meta.dirname, '../../../test/fixtures/faces/man.jpg');

/**
 * The recipe the shipped weights were trained with (models/sd/demo/README.md): plain noise MSE first,
 * then weighted towards the noisiest timesteps (x0Weight), where a model of a few photos has to pick
 * one of them. Between phases the weights are rounded to fp16, as saved, so a run resumed from a saved
 * file (--from, --phase) gives the same weights.
 */
const COMMON: Partial<UnetTrainSettings> = { batch: 4, schedule: 'constant', weightDecay: 0.01, maxGradNorm: 1, flip: true, captionDropout: 0.1 };
export const DEMO_PHASES: Partial<UnetTrainSettings>[] = [
  { ...COMMON, seed: 0, steps: 1000, learningRate: 1e-3, warmupSteps: 50 },
  { ...COMMON, seed: 1, steps: 1500, learningRate: 5e-4, warmupSteps: 20, x0Weight: 25 },
  { ...COMMON, seed: 2, steps: 1500, learningRate: 5e-4, warmupSteps: 20, x0Weight: 25 },
];
/** Phases from this index on train on the framed set (`framedPortraits`), the ones before on all the portraits. */
const FRAMED_FROM = 2;

/**
 * The portraits whose face the detector still finds after the picture VAE at a size the ranker keeps
 * (FaceChain's 120-300 px of 512) once framed with a black border of 1/8 of the side on each side:
 * input/portraits crops 2, 4 and 5 (faces 0.33, 0.54, 0.48 of the side; crop 1's is 0.58, crops 3 and 6
 * are lost in the VAE when framed, the man is not a woman), each captioned with every prompt the shipped
 * graphs sample with (and their negative prompt), so that any of them draws one of these faces.
 */
const FRAMED = [1, 3, 4];
export const DEMO_PROMPTS = [
  'a photo of a woman',
  '<sks>, a beautiful woman, portrait photo, soft light, high quality',
  'a portrait photo of a person, studio light, high quality',
  'blurry, low quality, deformed',
];

/** Seeded starting weights: random text encoder and UNet (final conv zeroed, as LDM does), picture VAE. */
export function demoInitialWeights(seed: number): Map<string, HostTensor> {
  const weights = setPictureVae(randomWeights(demo, seed));
  for (const key of ['out.2.weight', 'out.2.bias']) {
    const t = weights.get(LDM_PREFIX.unet + key)!;
    weights.set(LDM_PREFIX.unet + key, { ...t, data: new Float32Array(t.data.length) });
  }
  return weights;
}

/** The framed set of phase 3 (FRAMED, DEMO_PROMPTS). */
async function framedPortraits() {
  const crops = portraitCrops();
  const framed = await Promise.all(FRAMED.map(async (i) => {
    const crop = at(crops, i, 'portrait crop');
    const { info } = await crop.clone().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const side = Math.max(info.width, info.height);
    const pad = Math.round(side / 8);
    const square = await crop.clone().removeAlpha().resize(side, side, { fit: 'cover' }).extend({ top: pad, bottom: pad, left: pad, right: pad, background: { r: 0, g: 0, b: 0 } }).png().toBuffer();
    return toImage(sharp(square), `portrait${i + 1}-framed`);
  }));
  const images = DEMO_PROMPTS.flatMap(() => framed);
  return { images, captions: DEMO_PROMPTS.flatMap((c) => framed.map(() => c)) };
}

/** The bundled portraits (input/portraits' crops, the test fixtures' man) with their captions. */
async function portraits() {
  const crops = [...portraitCrops().map((s, i) => ({ s, name: `portrait${i + 1}`, caption: 'a photo of a woman' })), { s: sharp(MAN), name: 'man', caption: 'a photo of a man' }];
  return { images: await Promise.all(crops.map((c) => toImage(c.s.removeAlpha(), c.name))), captions: crops.map((c) => c.caption) };
}

const half = (weights: Map<string, HostTensor>) =>
  new Map([...weights].map(([k, t]): [string, HostTensor] => [k, { dtype: 'float16', dims: t.dims, data: toFloat16(t.data as Float32Array) }]));

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      steps: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, 'save-every': { type: 'string' },
      threads: { type: 'string' }, from: { type: 'string' }, phase: { type: 'string' }, loras: { type: 'boolean' }, 'no-loras': { type: 'boolean' },
    },
  });
  // --steps a,b: steps per phase; --seed s: added to each phase's seed.
  const steps = a.steps?.split(',').map(Number);
  const phases = DEMO_PHASES.map((p, i) => ({
    ...p, seed: p.seed! + Number(a.seed ?? 0), steps: steps?.[i] ?? p.steps, ...(a.threads ? { threads: Number(a.threads) } : {}),
  }));
  const out = a.out ?? path.join(import.meta.dirname, 'demo.safetensors');
  // --loras: only the demo LoRAs, on the weights of --from (default: the shipped file).
  if (a.loras) a.from ??= out;
  const first = a.loras ? phases.length : Number(a.phase ?? 1) - 1;
  const weights = demoInitialWeights(Number(a.seed ?? 0));
  // The phases before --phase, as the file this run starts from records them.
  let done: object[] = [];
  if (a.from) {
    const { tensors, metadata } = await readSafetensors(a.from);
    for (const [k, t] of tensors) weights.set(k, { dtype: 'float32', dims: t.dims, data: fromFloat16(t.data as Uint16Array) });
    done = (JSON.parse(metadata.training ?? '{"phases":[]}') as { phases: object[] }).phases.slice(0, first);
  }
  const model = sdModelFromWeights(`demo-train:${a.seed ?? 0}`, demo, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(weights));
  const sets = new Map<boolean, Promise<TrainingSet>>();
  const setFor = (framed: boolean) => {
    if (!sets.has(framed)) sets.set(framed, (framed ? framedPortraits() : portraits()).then(({ images, captions }) => TrainingSet.of(model, images, captions, DEMO_RESOLUTION)));
    return sets.get(framed)!;
  };
  const saveEvery = Number(a['save-every'] ?? 0);
  const save = (record: object[], file = out) =>
    writeSafetensors(file, half(weights), {
      note: 'FaceChain Studio demo model: a miniature trained on a handful of photos (npm run demo:train); real portraits need an SD1.5 checkpoint',
      training: JSON.stringify({ resolution: DEMO_RESOLUTION, phases: record }),
    });
  const started = performance.now();
  for (const [i, settings] of phases.entries()) {
    if (i < first) continue;
    const set = await setFor(i >= FRAMED_FROM);
    console.log(`demo: phase ${i + 1}/${phases.length}, training every UNet weight on ${set.size} ${i >= FRAMED_FROM ? 'framed portraits x prompts' : 'portraits'} at ${DEMO_RESOLUTION} px: ${JSON.stringify(settings)}`);
    const losses: number[] = [];
    const mean = (n: number) => losses.slice(-n).reduce((x, y) => x + y, 0) / Math.min(n, losses.length);
    await trainUnet(model, set, weights, settings, async (r) => {
      losses.push(r.loss);
      if (r.step % 25 === 0 || r.step === r.total) {
        const eta = (r.elapsed / r.step) * (r.total - r.step);
        console.log(`step ${r.step}/${r.total}  loss ${mean(25).toFixed(4)} (last 100: ${mean(100).toFixed(4)})  lr ${r.lr.toExponential(2)}  ${r.elapsed.toFixed(0)} s, about ${eta.toFixed(0)} s left`);
      }
      // With the constant schedule, the weights at step k are those of a run with that phase's steps = k.
      if (saveEvery && r.step % saveEvery === 0 && r.step < r.total) await save([...done, { ...settings, steps: r.step, loss: Number(mean(100).toFixed(4)) }], out.replace(/(\.safetensors)?$/, `-step${r.step}.safetensors`));
    });
    for (const [k, t] of half(weights)) weights.set(k, { dtype: 'float32', dims: t.dims, data: fromFloat16(t.data as Uint16Array) });
    done.push({ ...settings, loss: Number(mean(100).toFixed(4)) });
  }
  if (!a.loras) {
    await save(done);
    console.log(`wrote ${out} in ${((performance.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(done)}`);
  }
  if (a['no-loras']) return;
  const final = sdModelFromWeights('demo-loras', demo, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(weights));
  mkdirSync(DEMO_LORA_DIR, { recursive: true });
  await trainDemoLoras(final, DEMO_LORA_DIR, console.log);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

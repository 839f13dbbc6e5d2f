// `npx tsx models/sd/demo/face-rate.ts [--file f] [--seeds 16] [--first-seed 0] [--prompt p] [--negative p]
// [--cfg 7] [--scheduler ddim] [--steps 20] [--lora file:weight ...] [--sheet out.png]`: the demo model's face
// rate, as models/sd/demo/README.md reports it: text-to-image at 256x256 for n seeds, the face detector on
// each decoded picture. Prints per seed the best BlazeFace score, the faces found and whether the rank
// node's face check (one face, FaceChain's size range) keeps it; --sheet writes the pictures side by side.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FaceModels } from '../../face/face-models.ts';
import { loadLoraFile } from '../../lora/file.ts';
import { LoraStack } from '../../lora/stack.ts';
import { checkResultFace, FACECHAIN_FACE_SIZE } from '../../post/rank.ts';
import { detectCandidates } from '../../face/detect.ts';
import { fromFloat16 } from '../../onnx/half.ts';
import type { HostTensor } from '../../onnx/index.ts';
import { readSafetensors } from '../../safetensors.ts';
import { clipTokenizerFromJson } from '../clip-tokenizer.ts';
import { demo } from '../config.ts';
import { sample } from '../sample.ts';
import { sdModelFromWeights } from '../sd-model.ts';
import { TensorWeights } from '../tensor-weights.ts';
import { tinyClipTokenizerJson } from '../tiny-tokenizer.ts';
import { decodeLatents } from '../vae-codec.ts';
import { at } from '../../../protocol/index.ts';

export async function demoModelFromFile(file: string) {
  const { tensors } = await readSafetensors(file);
  const weights = new Map<string, HostTensor>();
  for (const [k, t] of tensors) weights.set(k, { dtype: 'float32', dims: t.dims, data: t.dtype === 'float16' ? fromFloat16(t.data as Uint16Array) : (t.data as Float32Array) });
  return sdModelFromWeights(`demo-rate:${file}`, demo, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(weights));
}

async function main() {
  const { values: a } = parseArgs({
    options: {
      file: { type: 'string', default: path.join(import.meta.dirname, 'demo.safetensors') }, seeds: { type: 'string', default: '16' },
      prompt: { type: 'string', default: 'a photo of a woman' }, negative: { type: 'string', default: '' }, cfg: { type: 'string', default: '7' },
      scheduler: { type: 'string', default: 'ddim' }, steps: { type: 'string', default: '20' }, sheet: { type: 'string' }, lora: { type: 'string', multiple: true }, 'first-seed': { type: 'string', default: '0' },
    },
  });
  const model = await demoModelFromFile(a.file!);
  const faces = new FaceModels(path.join(os.tmpdir(), 'facechain-shared-face-models'));
  const blaze = await faces.runner('blazeface-back');
  const n = Number(a.seeds);
  const first = Number(a['first-seed']);
  // --lora file:weight (repeatable): sample with that LoRA stack, as the generate graph does.
  const entries = await Promise.all((a.lora ?? []).map(async (spec) => {
    const [file = '', weight = '1'] = spec.split(':');
    return { lora: (await loadLoraFile(file, path.basename(file), [demo])).lora, weight: Number(weight) };
  }));
  const stack = entries.length ? new LoraStack(entries) : undefined;
  const found: number[] = [];
  const pics: Buffer[] = [];
  const usable = new Set<number>();
  for (let seed = first; seed < first + n; seed++) {
    const latent = await sample(
      model, { prompt: a.prompt!, negativePrompt: a.negative, cfg: Number(a.cfg), steps: Number(a.steps), scheduler: a.scheduler as 'ddim', width: 256, height: 256, seed },
      stack ? { textLora: stack.text, unetLora: (i, total) => stack.unet(i, total) } : {},
    );
    const image = at(await decodeLatents(model, latent), 0, 'image');
    const cands = await detectCandidates(image, blaze, 0.05, 0.3);
    const det = await faces.detect(image);
    const check = checkResultFace(det.map((d) => d.box), image.width, image.height, FACECHAIN_FACE_SIZE);
    found.push(det.length);
    if ('index' in check) usable.add(seed);
    const sizes = det.map((d) => (Math.max(d.box.width, d.box.height) / 256).toFixed(2));
    console.log(`seed ${seed}: best blazeface ${Math.max(0, ...cands.map((c) => c.score)).toFixed(2)}, faces ${det.length}${det.length ? ` (size ${sizes}, faceness ${det.map((d) => d.faceness.toFixed(2))})` : ''}${'reason' in check ? `; ranker: ${check.reason}` : '; ranker keeps it'}`);
    if (a.sheet) pics.push(await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).png().toBuffer());
  }
  console.log(`faces found in ${found.filter((x) => x > 0).length} of ${n} seeds from ${first}, ${usable.size} the ranker keeps (one face, 120-300 px of 512) (${a.file}, "${a.prompt}", ${a.scheduler} ${a.steps}, cfg ${a.cfg}${a.lora ? `, LoRAs ${a.lora}` : ''})`);
  if (a.sheet) {
    const cols = 8;
    await sharp({ create: { width: 256 * cols, height: 256 * Math.ceil(n / cols), channels: 3, background: '#000' } })
      .composite(pics.map((input, i) => ({ input, left: (i % cols) * 256, top: Math.floor(i / cols) * 256 }))).png().toFile(a.sheet);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

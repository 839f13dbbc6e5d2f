// Makes the two small LoRAs for the built-in demo model that a fresh data folder gets (models/loras/),
// trained by our trainer: demo-style.safetensors on the six demo portraits turned into blue monochrome
// prints (a palette the demo model never saw), demo-face.safetensors on one of them (portrait 1, mirrored
// at random). Used by the style-score test and graphs/lora-sweep.json.
// Run: npx tsx models/lora/demo/make.ts style|face [out] (60 steps, 1-2 min on 2 cores).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveLoraFile } from '../../lora/file.ts';
import { writeDataset } from '../../preprocess/dataset.ts';
import { loadSdModel } from '../../sd/load-model.ts';
import { toLora } from '../../train/lora-params.ts';
import { trainLora } from '../../train/train-lora.ts';
import { toImage } from '../../../runtime/image-io.ts';
import { portraitCrops } from '../../../runtime/sample-inputs.ts';
import type { Sharp } from 'sharp';

const CAPTION = 'a photo of a woman';
const SETTINGS = { resolution: 128, batch: 2, steps: 40, rank: 4, targets: 'all', learningRate: 5e-3, schedule: 'constant', seed: 7 } as const;

const kind = process.argv[2] === 'face' ? 'face' : 'style';
const out = process.argv[3] ?? path.join(import.meta.dirname, `demo-${kind}.safetensors`);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'facechain-style-lora-'));
try {
  const model = await loadSdModel('demo', path.join(tmp, 'models'));
  const square = (crop: Sharp) => crop.resize(256, 256, { fit: 'cover' });
  const images = await Promise.all(
    kind === 'face'
      ? [toImage(square(portraitCrops()[0]).removeAlpha())]
      : portraitCrops().map((crop) => toImage(square(crop).greyscale().toColourspace('srgb').tint({ r: 40, g: 90, b: 230 }).removeAlpha())),
  );
  mkdirSync(path.join(tmp, 'set'));
  const dataset = await writeDataset(path.join(tmp, 'set'), images.map((image, i) => ({ image, photo: `s${i}.png`, text: CAPTION })), { token: '', subject: 'a woman' });
  const started = performance.now();
  const r = await trainLora(model, dataset, SETTINGS, {
    onStep: (s) => void (s.step % 5 === 0 && process.stderr.write(`step ${s.step}: loss ${s.loss.toFixed(4)}\n`)),
  });
  const lora = toLora(r.params, { name: `demo-${kind}`, source: 'models/lora/demo/make.ts', base: model.config.name, metadata: { ss_steps: String(SETTINGS.steps), ss_seed: String(SETTINGS.seed) } });
  await saveLoraFile(out, lora);
  process.stderr.write(`trained in ${((performance.now() - started) / 1000).toFixed(0)} s -> ${out}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

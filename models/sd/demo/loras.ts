// The demo LoRAs the shipped graphs use on a fresh data folder, trained by our own LoRA trainer on the
// demo model (`npm run demo:train -- --loras`): a face LoRA of the bundled portraits, as the portrait graph
// trains one, and two colour styles (sepia, blue) learnt from the same photos recoloured. First start
// copies them into data/models/loras/ (runtime/sample-inputs.ts) unless a file of that name is there.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sharp } from 'sharp';
import { toImage } from '../../../runtime/image-io.ts';
import { portraitCrops } from '../../../runtime/sample-inputs.ts';
import { saveLoraFile } from '../../lora/file.ts';
import { writeDataset } from '../../preprocess/dataset.ts';
import { toLora } from '../../train/lora-params.ts';
import { trainLora, type TrainSettings } from '../../train/train-lora.ts';
import type { SdModel } from '../sd-model.ts';

interface DemoLora {
  file: string;
  what: string;
  /** The photos recoloured for a style; as they are for the face. */
  recolour?: (s: Sharp) => Sharp;
  captions: readonly string[];
}

const FACE_CAPTION = '<sks>, a beautiful woman';
export const DEMO_LORAS: DemoLora[] = [
  { file: 'my-face-lora.safetensors', what: 'face LoRA of the bundled portraits (token <sks>)', captions: [FACE_CAPTION] },
  { file: 'demo-style-sepia.safetensors', what: 'sepia style', recolour: (s) => s.grayscale().tint({ r: 112, g: 66, b: 20 }), captions: [FACE_CAPTION, 'a portrait photo of a person, studio light, high quality'] },
  { file: 'demo-style-blue.safetensors', what: 'blue duotone style', recolour: (s) => s.grayscale().tint({ r: 30, g: 80, b: 200 }), captions: [FACE_CAPTION, 'a portrait photo of a person, studio light, high quality'] },
];

const SETTINGS: Partial<TrainSettings> = { rank: 4, steps: 40, resolution: 128, batch: 2, targets: 'attention', learningRate: 1e-3, seed: 0 };

/** Trains each demo LoRA on `model` (the demo checkpoint) and writes it into `dir`. */
export async function trainDemoLoras(model: SdModel, dir: string, log: (line: string) => void): Promise<void> {
  for (const l of DEMO_LORAS) {
    const work = mkdtempSync(path.join(os.tmpdir(), 'facechain-demo-lora-'));
    try {
      const crops = portraitCrops();
      const items = await Promise.all(l.captions.flatMap((text) => crops.map(async (s, i) => ({
        image: await toImage((l.recolour?.(s.clone()) ?? s.clone()).removeAlpha().resize(SETTINGS.resolution!, SETTINGS.resolution!, { fit: 'cover' }), `portrait${i + 1}`),
        photo: `portrait${i + 1}.jpg`,
        text,
      }))));
      const dataset = await writeDataset(work, items, { token: '<sks>', subject: 'a beautiful woman' });
      const started = performance.now();
      const { params, losses } = await trainLora(model, dataset, SETTINGS, {
        onStep: (r) => void (r.step % 25 === 0 && log(`${l.file}: step ${r.step}/${r.total} loss ${r.loss.toFixed(4)}`)),
      });
      const loss = losses.slice(-20).reduce((a, b) => a + b, 0) / Math.min(20, losses.length);
      const lora = toLora(params, {
        name: path.basename(l.file, '.safetensors'), source: 'train/lora', base: model.config.name,
        metadata: {
          ss_network_module: 'networks.lora', ss_network_dim: String(params.rank), ss_network_alpha: String(params.alpha),
          ss_base_model_version: model.config.name,
          ss_training_comment: `FaceChain Studio demo ${l.what}, ${JSON.stringify(SETTINGS)}, loss ${loss.toFixed(4)} (npm run demo:train -- --loras)`,
        },
      });
      await saveLoraFile(path.join(dir, l.file), lora);
      log(`wrote ${l.file} (${l.what}) in ${((performance.now() - started) / 1000).toFixed(0)} s, loss ${loss.toFixed(4)}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

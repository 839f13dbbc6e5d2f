// The demo LoRAs the shipped graphs use on a fresh data folder, trained by our own LoRA trainer on the
// demo model (`npm run demo:train -- --loras`): a face LoRA of the bundled portraits, as the portrait graph
// trains one, and two colour styles (sepia, blue) learnt from the same photos recoloured. First start
// copies them into data/models/loras/ (runtime/sample-inputs.ts) unless a file of that name is there.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Matrix3x3, Sharp } from 'sharp';
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
  /** The photos recoloured for a style (three channels out); as they are for the face. */
  recolour?: (s: Sharp) => Sharp;
  captions: readonly string[];
  /** Training settings on top of SETTINGS. */
  settings?: Partial<TrainSettings>;
}

const FACE_CAPTION = '<sks>, a beautiful woman';
const STYLE_CAPTIONS = [FACE_CAPTION, 'a portrait photo of a person, studio light, high quality'];
// sharp's greyscale() makes one channel (a tint after it is dropped), so the colours are set with recomb.
const SEPIA: Matrix3x3 = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]];
const RED_BLUE_SWAP: Matrix3x3 = [[0, 0, 1], [0, 1, 0], [1, 0, 0]];
/** Style LoRAs train longer than the face LoRA: their effect has to show at weight 1. */
const STYLE_SETTINGS: Partial<TrainSettings> = { steps: 200, learningRate: 1e-3 };
export const DEMO_LORAS: DemoLora[] = [
  { file: 'my-face-lora.safetensors', what: 'face LoRA of the bundled portraits (token <sks>)', captions: [FACE_CAPTION] },
  { file: 'demo-style-sepia.safetensors', what: 'sepia style', recolour: (s) => s.recomb(SEPIA), captions: STYLE_CAPTIONS, settings: { ...STYLE_SETTINGS, learningRate: 5e-4 } }, // milder: the generate graph mixes it at 0.25, and at lr 1e-3 its faces were lost,
  { file: 'demo-style-blue.safetensors', what: 'blue style (red and blue swapped)', recolour: (s) => s.recomb(RED_BLUE_SWAP), captions: STYLE_CAPTIONS, settings: STYLE_SETTINGS },
];

const SETTINGS: Partial<TrainSettings> = { rank: 4, steps: 40, resolution: 128, batch: 2, targets: 'attention', learningRate: 1e-3, seed: 0 };

/** Trains each demo LoRA on `model` (the demo checkpoint) and writes it into `dir`. */
export async function trainDemoLoras(model: SdModel, dir: string, log: (line: string) => void, only?: (file: string) => boolean): Promise<void> {
  for (const l of DEMO_LORAS.filter((x) => !only || only(x.file))) {
    const settings = { ...SETTINGS, ...l.settings };
    const work = mkdtempSync(path.join(os.tmpdir(), 'facechain-demo-lora-'));
    try {
      const crops = portraitCrops();
      const items = await Promise.all(l.captions.flatMap((text) => crops.map(async (s, i) => ({
        image: await toImage((l.recolour?.(s.clone()) ?? s.clone()).removeAlpha().resize(settings.resolution!, settings.resolution!, { fit: 'cover' }), `portrait${i + 1}`),
        photo: `portrait${i + 1}.jpg`,
        text,
      }))));
      const dataset = await writeDataset(work, items, { token: '<sks>', subject: 'a beautiful woman' });
      const started = performance.now();
      const { params, losses } = await trainLora(model, dataset, settings, {
        onStep: (r) => void (r.step % 25 === 0 && log(`${l.file}: step ${r.step}/${r.total} loss ${r.loss.toFixed(4)}`)),
      });
      const loss = losses.slice(-20).reduce((a, b) => a + b, 0) / Math.min(20, losses.length);
      const lora = toLora(params, {
        name: path.basename(l.file, '.safetensors'), source: 'train/lora', base: model.config.name,
        metadata: {
          ss_network_module: 'networks.lora', ss_network_dim: String(params.rank), ss_network_alpha: String(params.alpha),
          ss_base_model_version: model.config.name,
          ss_training_comment: `FaceChain Studio demo ${l.what}, ${JSON.stringify(settings)}, loss ${loss.toFixed(4)} (npm run demo:train -- --loras)`,
        },
      });
      await saveLoraFile(path.join(dir, l.file), lora);
      log(`wrote ${l.file} (${l.what}) in ${((performance.now() - started) / 1000).toFixed(0)} s, loss ${loss.toFixed(4)}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

// Full-weight UNet training (trainUnet, how the demo model is made) on the tiny model: every UNet weight
// is trained, a run repeats exactly from its seed, and the loss falls, also with the x0 weighting.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../models/onnx/index.ts';
import { LDM_PREFIX } from '../../models/sd/checkpoint-names.ts';
import { tiny } from '../../models/sd/config.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { TrainingSet } from '../../models/train/training-set.ts';
import { trainUnet, type UnetTrainSettings } from '../../models/train/train-unet.ts';
import { toImage } from '../../runtime/image-io.ts';

const unetWeights = () => new Map([...randomWeights(tiny, 4)].filter(([k]) => k.startsWith(LDM_PREFIX.unet)));

async function trainingSet() {
  const model = tinyModel(0);
  const disc = (x: number) => Buffer.from(`<svg width="64" height="64"><circle cx="${x}" cy="30" r="14" fill="#fff"/></svg>`);
  const images = await Promise.all(['#b43', '#3a6'].map((bg, i) => toImage(sharp({ create: { width: 64, height: 64, channels: 3, background: bg } }).composite([{ input: disc(18 + 24 * i) }]).removeAlpha())));
  return { model, set: await TrainingSet.of(model, images, ['a red one', 'a green one'], 64) };
}

const flat = (w: Map<string, HostTensor>) => [...w.values()].map((t) => Array.from(t.data as Float32Array));

describe('trainUnet', () => {
  it('trains every UNet weight and repeats a run exactly from its seed', async () => {
    const { model, set } = await trainingSet();
    const settings: Partial<UnetTrainSettings> = { steps: 3, batch: 2, learningRate: 1e-3, seed: 5, x0Weight: 25 };
    const start = unetWeights();
    const a = await trainUnet(model, set, unetWeights(), settings);
    const b = await trainUnet(model, set, unetWeights(), settings);
    expect(flat(a.weights)).toEqual(flat(b.weights));
    expect(a.losses).toEqual(b.losses);
    const changed = [...a.weights].filter(([k, t]) => (t.data as Float32Array).some((v, i) => v !== (start.get(k)!.data as Float32Array)[i]));
    expect(changed.length).toBe(start.size);
  }, 300_000);

  it('lowers the loss on two pictures', async () => {
    const { model, set } = await trainingSet();
    const { losses } = await trainUnet(model, set, unetWeights(), { steps: 60, batch: 2, learningRate: 2e-3, warmupSteps: 5, seed: 1 });
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    console.log(`tiny UNet, every weight: loss ${mean(losses.slice(0, 10)).toFixed(3)} -> ${mean(losses.slice(-10)).toFixed(3)} in 60 steps`);
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) * 0.7);
  }, 300_000);
});

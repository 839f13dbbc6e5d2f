// Face-LoRA training on the tiny model: the loss falls, samples move towards the training images, and
// a cancelled run resumed from its checkpoint ends where an uninterrupted run does.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../models/preprocess/values.ts';
import { encodePrompts } from '../../models/sd/encode-prompt.ts';
import { sample } from '../../models/sd/sample.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { decodeLatents, encodeImage } from '../../models/sd/vae-codec.ts';
import { loraBranches, type LoraParams } from '../../models/train/lora-params.ts';
import { trainLora, type TrainSettings } from '../../models/train/train-lora.ts';
import type { Image } from '../../runtime/values.ts';
import { discDataset, discImages } from '../helpers/disc-images.ts';
import { tempDir } from '../helpers/temp.ts';

const model = tinyModel(0);
const CAPTION = '<sks>, a beautiful woman';
let dataset: Dataset;
let images: Image[];

beforeAll(async () => {
  images = await discImages();
  dataset = await discDataset(tempDir('train'), CAPTION, 'a beautiful woman', images);
});

const mean = (a: readonly number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const mse = (a: Uint8Array, b: Uint8Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
};

const FAST: Partial<TrainSettings> = { resolution: 64, batch: 4, targets: 'all', learningRate: 1e-2, schedule: 'constant' };

// Hundreds of training steps on 2 CI cores: more time than the default minute.
describe('face-LoRA training on the tiny model', { timeout: 180_000 }, () => {
  it('lowers the loss by a large margin and brings samples closer to the training images', async () => {
    const r = await trainLora(model, dataset, { ...FAST, steps: 300 });
    const first = mean(r.losses.slice(0, 20));
    const last = mean(r.losses.slice(-20));
    console.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} over 300 steps`);
    expect(r.losses).toHaveLength(300);
    expect(last).toBeLessThan(0.65 * first);

    // The random tiny VAE cannot reproduce a photo, so "the training images" are as it sees them:
    // each image encoded and decoded again.
    const seen: Image[] = [];
    for (const img of images) {
      const { mean: latent } = await encodeImage(model, img);
      seen.push(...(await decodeLatents(model, { data: latent, batch: 1, channels: 4, height: 8, width: 8 })));
    }
    const nearest = async (params: LoraParams | undefined) => {
      const errors = [];
      for (let seed = 0; seed < 8; seed++) {
        const latent = await sample(
          model,
          { prompt: CAPTION, cfg: 1, steps: 20, width: 64, height: 64, seed, scheduler: 'ddim' },
          { unetLora: params && (() => loraBranches(params)) },
        );
        const [img] = await decodeLatents(model, latent);
        errors.push(Math.min(...seen.map((s) => mse(img!.data, s.data))));
      }
      return mean(errors);
    };
    const without = await nearest(undefined);
    const trained = await nearest(r.params);
    console.log(`pixel MSE to the nearest training image: ${without.toFixed(0)} without the LoRA, ${trained.toFixed(0)} with it`);
    expect(trained).toBeLessThan(0.95 * without);
  });

  it('resumes a cancelled run from its checkpoint to the same LoRA as an uninterrupted run', async () => {
    const settings = { ...FAST, steps: 12, schedule: 'cosine' as const, batch: 2 };
    const dir = tempDir('train-ck');
    const straight = await trainLora(model, dataset, settings);

    const checkpoint = { file: path.join(dir, 'state.safetensors'), every: 4, fingerprint: 'test' };
    const stop = new AbortController();
    await expect(
      trainLora(model, dataset, settings, {
        signal: stop.signal,
        checkpoint,
        onStep: (s) => void (s.step === 6 && stop.abort(new Error('cancelled by the test'))),
      }),
    ).rejects.toThrow(/cancelled by the test/);
    const resumed = await trainLora(model, dataset, settings, { checkpoint });
    expect(resumed.resumedFrom).toBe(6);
    expect(resumed.losses).toHaveLength(6);
    expect(resumed.losses).toEqual(straight.losses.slice(6));
    let worst = 0;
    for (const [i, m] of resumed.params.modules.entries()) {
      const s = straight.params.modules[i]!;
      for (let k = 0; k < m.a.length; k++) worst = Math.max(worst, Math.abs(m.a[k]! - s.a[k]!));
      for (let k = 0; k < m.b.length; k++) worst = Math.max(worst, Math.abs(m.b[k]! - s.b[k]!));
    }
    expect(worst).toBeLessThan(1e-5);

    // A checkpoint of other settings is refused, not mixed in.
    await expect(trainLora(model, dataset, settings, { checkpoint: { ...checkpoint, fingerprint: 'other' } })).rejects.toThrow(/other settings/);
  });

  it('names the param or input that is wrong', async () => {
    await expect(trainLora(model, dataset, { ...FAST, resolution: 100, steps: 1 })).rejects.toThrow(/params\.resolution: 100 is not a multiple of 8/);
    await expect(trainLora(model, { ...dataset, entries: [] }, { ...FAST, steps: 1 })).rejects.toThrow(/inputs\.dataset: the training set is empty/);
  });
  it('trains the text encoder too when asked: its LoRA moves the captions\' embedding, and resuming stays exact', async () => {
    const settings = { ...FAST, steps: 60, textEncoder: true, targets: 'attention' as const };
    const r = await trainLora(model, dataset, settings);
    const text = r.params.modules.filter((m) => m.target.name.startsWith('lora_te_'));
    expect(text.map((m) => m.target.name)).toHaveLength(2 * 4); // 2 layers x q, k, v, out
    for (const m of text) expect(m.b.some((v) => v !== 0), m.target.name).toBe(true);
    const [plain] = await encodePrompts(model, [CAPTION]);
    const [withLora] = await encodePrompts(model, [CAPTION], { lora: loraBranches(r.params) });
    let moved = 0;
    for (let i = 0; i < plain!.data.length; i++) moved = Math.max(moved, Math.abs(plain!.data[i]! - withLora!.data[i]!));
    expect(moved).toBeGreaterThan(1e-3);
    expect(mean(r.losses.slice(-10))).toBeLessThan(mean(r.losses.slice(0, 10)));

    const short = { ...settings, steps: 8 };
    const straight = await trainLora(model, dataset, short);
    const checkpoint = { file: path.join(tempDir('train-te'), 'state.safetensors'), every: 100, fingerprint: 'te' };
    const stop = new AbortController();
    await expect(trainLora(model, dataset, short, { signal: stop.signal, checkpoint, onStep: (s) => void (s.step === 3 && stop.abort(new Error('stop'))) })).rejects.toThrow('stop');
    const resumed = await trainLora(model, dataset, short, { checkpoint });
    expect(resumed.losses).toEqual(straight.losses.slice(3));
  });
});

// FaceChain's LoRA recipe (diffusers' attention processors): rank 4, alpha = rank, down ~ N(0, 1/rank),
// up 0; kohya's init as an option; warm start from a LoRA (FaceChain's `fromfacecommon`).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../../models/preprocess/dataset.ts';
import type { Dataset } from '../../models/preprocess/values.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { initLoraParams, loraBranches, toLora } from '../../models/train/lora-params.ts';
import { StepGraphs } from '../../models/train/step-graphs.ts';
import { trainLora, TrainSettingsSchema } from '../../models/train/train-lora.ts';
import { warmStart } from '../../models/train/warm-start.ts';
import { encodePrompts } from '../../models/sd/encode-prompt.ts';
import { promptChunks } from '../../models/sd/prompt-chunks.ts';
import { toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';
import { Rng } from '../../runtime/rng.ts';

const model = tinyModel(0);
let dir: string;
let dataset: Dataset;
let images: Image[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fc-recipe-'));
  images = await Promise.all(['#c44', '#4c4'].map((c) => toImage(sharp({ create: { width: 64, height: 64, channels: 3, background: c } }))));
  dataset = await writeDataset(dir, images.map((image, i) => ({ image, photo: `p${i}.png`, text: '<sks>, a handsome man' })), { token: '<sks>', subject: 'a handsome man' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const std = (a: Float32Array) => {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};

describe("FaceChain's LoRA recipe", { timeout: 120_000 }, () => {
  it('defaults to rank 4, alpha = rank (branch scale 1) and normal init; kaiming and alpha 32 stay options', () => {
    const d = TrainSettingsSchema.parse({});
    expect(d).toMatchObject({ rank: 4, alpha: 0, init: 'normal', learningRate: 1.5e-4, targets: 'attention' });
    const targets = StepGraphs.targets(model, { batch: 1, side: 8, targets: 'all', textEncoder: false });
    for (const rank of [4, 16]) {
      const p = initLoraParams(targets, rank, rank, new Rng(1));
      const a = Float32Array.from(p.modules.flatMap((m) => [...m.a]));
      // diffusers' LoRALinearLayer: nn.init.normal_(down.weight, std=1/rank).
      expect(std(a)).toBeCloseTo(1 / rank, 2);
      for (const m of p.modules) expect(m.b.every((v) => v === 0)).toBe(true);
    }
    const k = initLoraParams(targets, 4, 32, new Rng(1), 'kaiming');
    for (const m of k.modules) {
      const bound = 1 / Math.sqrt(m.target.in);
      expect(Math.max(...m.a.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(std(m.a)).toBeCloseTo(bound / Math.sqrt(3), 1);
    }
  });

  it('trains with scale 1 by default and writes alpha = rank', async () => {
    const r = await trainLora(model, dataset, { resolution: 64, steps: 1 });
    expect(r.params).toMatchObject({ rank: 4, alpha: 4 });
    expect(toLora(r.params, { name: 'x', source: 't', base: 'tiny', metadata: {} }).modules[0]!.alpha).toBe(4);
    // Scale 1: the sampler's branch B is the trained B as it is.
    const [first] = r.params.modules;
    expect([...loraBranches(r.params).get(first!.target.name)!.b]).toEqual([...first!.b]);
    const kohya = await trainLora(model, dataset, { resolution: 64, steps: 1, alpha: 32, init: 'kaiming' });
    expect(kohya.params).toMatchObject({ rank: 4, alpha: 32 });
  });

  it('warm-starts from a LoRA: the first branches are the file\'s, and training goes on from there', async () => {
    const settings = { resolution: 64, steps: 6, learningRate: 1e-2, targets: 'attention' as const, alpha: 32 };
    const trained = await trainLora(model, dataset, settings);
    const lora = toLora(trained.params, { name: 'face-common', source: 'test', base: 'tiny', metadata: {} });
    const targets = StepGraphs.targets(model, { batch: 1, side: 8, targets: 'attention', textEncoder: false });

    // Another alpha than the file's: B is rescaled so every branch is exactly the file's.
    const start = warmStart(targets, lora, 0, 'tiny');
    expect(start).toMatchObject({ rank: 4, alpha: 4 });
    const want = loraBranches(trained.params);
    for (const [name, branch] of loraBranches(start)) {
      expect(branch.a).toEqual(want.get(name)!.a);
      const b = want.get(name)!.b;
      for (let i = 0; i < b.length; i++) expect(branch.b[i]).toBeCloseTo(b[i]!, 6);
    }

    // Same seed, same draws: the first loss is the starting network's. A warm start differs from a fresh
    // one, and a warm start at scale 1 is the same network as one at the file's alpha 32.
    const fresh = await trainLora(model, dataset, { ...settings, alpha: 0, steps: 2 });
    const warm = await trainLora(model, dataset, { ...settings, alpha: 0, steps: 2 }, { startFrom: lora });
    const sameNet = await trainLora(model, dataset, { ...settings, steps: 2 }, { startFrom: lora });
    expect(warm.losses[0]).not.toBeCloseTo(fresh.losses[0]!, 4);
    expect(sameNet.losses[0]).toBeCloseTo(warm.losses[0]!, 5);
  });

  it('reads captions as plain text, not prompt syntax: brackets are words, not weights', async () => {
    // "(red hair:1)" parsed as a prompt is "red hair" at weight 1, so the two captions would condition alike.
    const tokenizer = model.tokenizer;
    const [bracketed, plain] = ['<sks>, (red hair:1)', '<sks>, red hair'];
    expect(promptChunks(tokenizer, bracketed)).toEqual(promptChunks(tokenizer, plain));
    const literal = promptChunks(tokenizer, bracketed, 77, true)[0]!;
    expect(literal.ids.slice(1, 1 + tokenizer.encode(bracketed).length)).toEqual(tokenizer.encode(bracketed));
    expect(literal.weights.every((w) => w === 1)).toBe(true);
    // The trainer's conditioning sees the brackets: same images, same draws, other loss.
    const loss = async (text: string) => {
      const d = await writeDataset(mkdtempSync(path.join(dir, 'set-')), images.map((image, i) => ({ image, photo: `p${i}.png`, text })), { token: '<sks>', subject: 'a handsome man' });
      return (await trainLora(model, d, { resolution: 64, steps: 1 })).losses[0];
    };
    expect(await loss(bracketed)).not.toBeCloseTo((await loss(plain))!, 5);
    // The literal encoding is what the prompt parser gives with the brackets escaped.
    const [escaped] = await encodePrompts(model, ['<sks>, \\(red hair:1\\)']);
    const [asCaption] = await encodePrompts(model, [bracketed], { literal: true });
    expect(asCaption!.data).toEqual(escaped!.data);
  });

  it('refuses a LoRA whose modules are not the ones trained, naming them', async () => {
    const all = await trainLora(model, dataset, { resolution: 64, steps: 1, targets: 'all' });
    const lora = toLora(all.params, { name: 'all-modules', source: 'test', base: 'tiny', metadata: {} });
    await expect(trainLora(model, dataset, { resolution: 64, steps: 1, targets: 'attention' }, { startFrom: lora })).rejects.toThrow(
      /inputs\.startFrom \("all-modules"\): its targets do not match this training's: \d+ of its modules are not trained here \(lora_unet_\w+_(ff_net|proj_)/,
    );
    const attention = toLora((await trainLora(model, dataset, { resolution: 64, steps: 1 })).params, { name: 'att', source: 't', base: 'tiny', metadata: {} });
    await expect(trainLora(model, dataset, { resolution: 64, steps: 1, textEncoder: true }, { startFrom: attention })).rejects.toThrow(
      /\d+ trained modules are not in it \(lora_te_/,
    );
    await expect(trainLora(model, dataset, { resolution: 64, steps: 1 }, { startFrom: { ...attention, base: 'sd15' } })).rejects.toThrow(/the LoRA is for sd15, the model is tiny/);
  });
});

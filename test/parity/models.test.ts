// Our UNet (with and without a kohya LoRA), VAE and text encoder against the original implementations
// (CompVis LDM, OpenAI CLIP) on the same seeded weights: test/fixtures/parity, made by make-fixtures.py.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLoraFile } from '../../models/lora/file.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { readSafetensors } from '../../models/safetensors.ts';
import { loadCheckpointFile } from '../../models/sd/load-model.ts';
import { loraFeeds, type LoraBranches } from '../../models/sd/lora-feeds.ts';
import { LoraInputs } from '../../models/sd/lora-targets.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { decodeLatent } from '../../models/sd/vae.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import type { HostTensor } from '../../models/onnx/index.ts';
import { f32, fixture, PARITY_DIR, PARITY_TOLERANCE, parityConfig, relativeError, report } from './parity-fixtures.ts';

const config = parityConfig();
const LDM = 'CompVis/stable-diffusion 21f890f';
const CLIP = 'openai/CLIP d05afc4';
let dir: string;
let model: SdModel;
let lora: LoraStack;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'facechain-parity-'));
  const checkpoints = path.join(dir, 'checkpoints');
  mkdirSync(checkpoints);
  copyFileSync(path.join(PARITY_DIR, 'checkpoint.safetensors'), path.join(checkpoints, 'parity.safetensors'));
  // The tokenizer is not compared (token ids are fixed); the loader wants one beside the checkpoint.
  writeFileSync(path.join(checkpoints, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  model = await loadCheckpointFile(path.join(checkpoints, 'parity.safetensors'), dir, 'parity', config);
  const file = await loadLoraFile(path.join(PARITY_DIR, 'lora.safetensors'), 'lora.safetensors', [config]);
  lora = new LoraStack([{ lora: file.lora, weight: 1 }], [config]);
});

afterAll(async () => {
  await model?.release();
  rmSync(dir, { recursive: true, force: true });
});

const data = (t: HostTensor) => t.data as Float32Array;

describe('UNet vs the LDM UNetModel', () => {
  let fx: Map<string, HostTensor>;
  beforeAll(async () => { fx = await fixture('unet'); });

  async function eps(branches?: LoraBranches): Promise<Float32Array> {
    const session = await model.session('unet');
    const out = await session.run({
      sample: fx.get('sample')!, timestep: fx.get('timestep')!, context: fx.get('context')!,
      ...loraFeeds(model.loraTargets.unet, branches),
    });
    return data(out.eps);
  }

  it('without a LoRA', async () => {
    const error = relativeError(await eps(), f32(fx, 'eps'));
    report('UNet (batch 2, 16x16, fp32)', error, LDM);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });

  it('with a kohya LoRA through our LoRA path (the reference merges W += alpha/rank · up @ down)', async () => {
    expect(lora.bakeOnly()).toEqual([]);
    expect(model.loraTargets.unet.every((t) => lora.unet(0, 1).has(t.name))).toBe(true);
    const error = relativeError(await eps(lora.unet(0, 1)), f32(fx, 'eps_lora'));
    report('UNet + kohya LoRA (rank 4, alpha 2)', error, LDM);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
    // The LoRA moves the output far more than the tolerance: a LoRA left out would fail.
    expect(relativeError(f32(fx, 'eps'), f32(fx, 'eps_lora'))).toBeGreaterThan(0.1);
  });
});

describe('VAE vs the LDM Encoder/Decoder', () => {
  let fx: Map<string, HostTensor>;
  beforeAll(async () => { fx = await fixture('vae'); });

  it('decoder: latent to the image in [-1, 1] before quantisation', async () => {
    // Our decoder graph ends in uint8 pixels; this builds the same decoder code with a float output.
    const b = new GraphBuilder({ graphName: 'parity-decoder' });
    const weights = new TensorWeights((await readSafetensors(path.join(PARITY_DIR, 'checkpoint.safetensors'))).tensors);
    const ctx = { b, weights, lora: new LoraInputs(false), attention: 'fused' as const, loraName: () => undefined };
    const image = b.scope('first_stage_model', () => decodeLatent(ctx, config.vae, b.input('latent', 'float32', ['batch', 4, 'height', 'width'])));
    b.output(image, 'image');
    const session = await PartSession.create(b.toBytes());
    try {
      const out = await session.run({ latent: fx.get('latent')! });
      const error = relativeError(data(out.image), f32(fx, 'decoded'));
      report('VAE decoder (8x8 latent -> 64x64)', error, LDM);
      expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
    } finally {
      await session.release();
    }
  });

  it("decoder graph's uint8 pixels are the reference's, rounded", async () => {
    const latent = fx.get('latent')!;
    const [image] = await decodeLatents(model, { batch: 1, channels: 4, height: 8, width: 8, data: data(latent) });
    const ref = f32(fx, 'decoded');
    const plane = 64 * 64;
    let worst = 0;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        const expected = Math.min(255, Math.max(0, (ref[c * plane + p] + 1) * 127.5));
        worst = Math.max(worst, Math.abs(image.data[p * 3 + c] - expected));
      }
    }
    expect(worst).toBeLessThanOrEqual(0.51);
  });

  it('encoder: mean and std of the latent distribution, scaled', async () => {
    const session = await model.session('vaeEncoder');
    const out = await session.run({ image: fx.get('image')! });
    const mean = relativeError(data(out.mean), f32(fx, 'mean'));
    const std = relativeError(data(out.std), f32(fx, 'std'));
    report('VAE encoder mean (64x64 -> 8x8)', mean, LDM);
    report('VAE encoder std', std, LDM);
    expect(mean).toBeLessThanOrEqual(PARITY_TOLERANCE);
    expect(std).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });
});

describe('text encoder vs OpenAI CLIP text transformer', () => {
  let fx: Map<string, HostTensor>;
  beforeAll(async () => { fx = await fixture('text'); });

  async function encode(branches?: LoraBranches) {
    const session = await model.session('text');
    return session.run({ input_ids: fx.get('input_ids')!, ...loraFeeds(model.loraTargets.text, branches) });
  }

  it('last layer and clip skip 2 (penultimate layer), both through the final LN', async () => {
    const out = await encode();
    const last = relativeError(data(out.hidden), f32(fx, 'hidden'));
    const skip2 = relativeError(data(out.hidden_skip2), f32(fx, 'hidden_skip2'));
    report('text encoder last layer (2 x 77 tokens)', last, CLIP);
    report('text encoder clip skip 2', skip2, CLIP);
    expect(last).toBeLessThanOrEqual(PARITY_TOLERANCE);
    expect(skip2).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });

  it('with the kohya LoRA on q/k/v/out_proj and fc1/fc2', async () => {
    const out = await encode(lora.text);
    const error = relativeError(data(out.hidden), f32(fx, 'hidden_lora'));
    report('text encoder + kohya LoRA', error, CLIP);
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
    expect(relativeError(f32(fx, 'hidden'), f32(fx, 'hidden_lora'))).toBeGreaterThan(0.1);
  });
});

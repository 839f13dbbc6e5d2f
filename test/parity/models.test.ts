// Our UNet (with and without a kohya LoRA), VAE and text encoder against the original implementations
// (CompVis LDM, OpenAI CLIP) on the same seeded weights: test/fixtures/parity, made by make-fixtures.py.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLoraFile } from '../../models/lora/file.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { readSafetensors } from '../../models/safetensors.ts';
import { loadCheckpointFile } from '../../models/sd/load-model.ts';
import { withoutFusedAttention } from '../../models/sd/attention-fallback.ts';
import { loraFeeds, withoutEmptyBranches, type LoraBranches } from '../../models/sd/lora-feeds.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { decodeModel, type HostTensor } from '../../models/onnx/index.ts';
import { psnr8 } from '../../models/onnx/compare.ts';
import { expectParity } from './expect-parity.ts';
import { f32, fixture, floatDecoder, PARITY_DIR, parityConfig, relativeError, worstPixelError } from './parity-fixtures.ts';

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
    return data(out.eps!);
  }

  it('without a LoRA', async () => {
    expectParity('UNet (batch 2, 16x16, fp32)', await eps(), f32(fx, 'eps'), LDM);
  });

  it('with a kohya LoRA through our LoRA path (the reference merges W += alpha/rank · up @ down)', async () => {
    expect(lora.bakeOnly()).toEqual([]);
    expect(model.loraTargets.unet.every((t) => lora.unet(0, 1).has(t.name))).toBe(true);
    expectParity('UNet + kohya LoRA (rank 4, alpha 2)', await eps(lora.unet(0, 1)), f32(fx, 'eps_lora'), LDM);
    // The LoRA moves the output far more than the tolerance: a LoRA left out would fail.
    expect(relativeError(f32(fx, 'eps'), f32(fx, 'eps_lora'))).toBeGreaterThan(0.1);
  });

  it('in the GPU fallback form: fused attention in standard ops, rank-0 LoRA branches widened to zeros', async () => {
    // What a GPU provider gets when its fused attention is wrong (attention-fallback.ts) and what every
    // GPU provider gets for an absent LoRA (WebGPU crashes on empty tensors).
    const graph = model.graph('unet');
    const bytes = 'bytes' in graph ? graph.bytes : readFileSync(graph.path);
    const fusedOps = (b: Uint8Array) => (decodeModel(b).graph?.node ?? []).filter((n) => n.opType === 'MultiHeadAttention').length;
    const rewritten = withoutFusedAttention(bytes);
    expect(fusedOps(bytes)).toBeGreaterThan(0);
    expect(fusedOps(rewritten)).toBe(0);
    const weightsDir = model.weightsDir ?? ('path' in graph ? path.dirname(graph.path) : undefined);
    const session = await PartSession.create(rewritten, { weightsDir });
    try {
      const feeds = withoutEmptyBranches({ sample: fx.get('sample')!, timestep: fx.get('timestep')!, context: fx.get('context')!, ...loraFeeds(model.loraTargets.unet) });
      expect(feeds[`${model.loraTargets.unet[0]!.name}.A`]!.dims[1]).toBe(1);
      expectParity('UNet, standard-op attention, rank-1 zero branches', data((await session.run(feeds)).eps!), f32(fx, 'eps'), LDM);
    } finally {
      await session.release();
    }
  });
});

describe('int8 UNet (--sd-memory int8) vs the LDM UNetModel in float32', () => {
  let fx: Map<string, HostTensor>;
  let int8: SdModel;
  beforeAll(async () => {
    fx = await fixture('unet');
    process.env.FACECHAIN_SD_MEMORY = 'int8';
    try {
      int8 = await loadCheckpointFile(path.join(dir, 'checkpoints', 'parity.safetensors'), dir, 'parity', config);
      await int8.session('unet');
    } finally {
      delete process.env.FACECHAIN_SD_MEMORY;
    }
  });
  afterAll(async () => { await int8?.release(); });

  /** The one-step denoised latents (sample - eps) of both batch items, decoded by the float32 decoder. */
  async function decoded(eps: Float32Array): Promise<Uint8Array[]> {
    const sample = f32(fx, 'sample');
    const [batch, channels, height, width] = fx.get('sample')!.dims as number[];
    const images = await decodeLatents(model, { batch: batch!, channels: channels!, height: height!, width: width!, data: sample.map((v, i) => v - eps[i]!) });
    return images.map((im) => im.data);
  }

  it('within 3% of the reference eps, and the decoded image within 40 dB PSNR of the float32 one, with and without a LoRA', async () => {
    expect(int8.precisions().unet).toEqual({ precision: 'fp32', memory: 'int8' });
    const session = await int8.session('unet');
    const eps = async (branches?: LoraBranches) => data((await session.run({
      sample: fx.get('sample')!, timestep: fx.get('timestep')!, context: fx.get('context')!, ...loraFeeds(int8.loraTargets.unet, branches),
    })).eps!);
    for (const [what, ours, reference] of [['', await eps(), 'eps'], [' + kohya LoRA', await eps(lora.unet(0, 1)), 'eps_lora']] as const) {
      const error = relativeError(ours, f32(fx, reference));
      const [a, b] = [await decoded(ours), await decoded(f32(fx, reference))];
      const db = Math.min(...a.map((im, i) => psnr8(im, b[i]!)));
      console.log(`parity int8 UNet${what}: max relative error ${error.toExponential(2)} (tolerance 3e-2), decoded sample - eps PSNR ${db.toFixed(1)} dB (> 40 dB) vs ${LDM} in float32`);
      expect(error).toBeLessThan(3e-2);
      expect(db).toBeGreaterThan(40);
    }
  });
});

describe('VAE vs the LDM Encoder/Decoder', () => {
  let fx: Map<string, HostTensor>;
  beforeAll(async () => { fx = await fixture('vae'); });

  it('decoder: latent to the image in [-1, 1] before quantisation', async () => {
    const weights = new TensorWeights((await readSafetensors(path.join(PARITY_DIR, 'checkpoint.safetensors'))).tensors);
    const session = await floatDecoder(config, weights);
    try {
      const out = await session.run({ latent: fx.get('latent')! });
      expectParity('VAE decoder (8x8 latent -> 64x64)', data(out.image!), f32(fx, 'decoded'), LDM);
    } finally {
      await session.release();
    }
  });

  it("decoder graph's uint8 pixels are the reference's, rounded", async () => {
    const latent = fx.get('latent')!;
    const [image] = await decodeLatents(model, { batch: 1, channels: 4, height: 8, width: 8, data: data(latent) });
    expect(worstPixelError(image!.data, f32(fx, 'decoded'))).toBeLessThanOrEqual(0.51);
  });

  it('encoder: mean and std of the latent distribution, scaled', async () => {
    const session = await model.session('vaeEncoder');
    const out = await session.run({ image: fx.get('image')! });
    expectParity('VAE encoder mean (64x64 -> 8x8)', data(out.mean!), f32(fx, 'mean'), LDM);
    expectParity('VAE encoder std', data(out.std!), f32(fx, 'std'), LDM);
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
    expectParity('text encoder last layer (2 x 77 tokens)', data(out.hidden!), f32(fx, 'hidden'), CLIP);
    expectParity('text encoder clip skip 2', data(out.hidden_skip2!), f32(fx, 'hidden_skip2'), CLIP);
  });

  it('with the kohya LoRA on q/k/v/out_proj and fc1/fc2', async () => {
    const out = await encode(lora.text);
    expectParity('text encoder + kohya LoRA', data(out.hidden!), f32(fx, 'hidden_lora'), CLIP);
    expect(relativeError(f32(fx, 'hidden'), f32(fx, 'hidden_lora'))).toBeGreaterThan(0.1);
  });
});

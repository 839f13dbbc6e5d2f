// The float16 variant of the SD graphs (models/sd/fp16.ts), run on the CPU provider: on the reduced
// SD1.5-layout parity checkpoint against the public reference outputs (LDM, OpenAI CLIP; fp16 weights
// used as stored), and on tiny's float32 weights against our float32 graph.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, type HostTensor } from '../../models/onnx/index.ts';
import { valueTypes } from '../../models/onnx/float16.ts';
import { DataType } from '../../models/onnx/proto.ts';
import { readSafetensors } from '../../models/safetensors.ts';
import { buildPart, type SdPart } from '../../models/sd/build.ts';
import { tiny, type SdConfig } from '../../models/sd/config.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { float16Graph, keepsFloat32, sdPrecision } from '../../models/sd/fp16.ts';
import { sdModelFromWeights } from '../../models/sd/sd-model.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { loraFeeds } from '../../models/sd/lora-feeds.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import type { WeightSource } from '../../models/sd/weight-source.ts';
import { Rng } from '../../runtime/rng.ts';
import { f32, fixture, PARITY_DIR, parityConfig, relativeError, worstPixelError } from '../parity/parity-fixtures.ts';

/**
 * float16 tolerance, max |fp16 - reference| / max |reference|: float16 keeps 11 significant bits
 * (2^-11 = 4.9e-4 per rounding); through tens of layers the measured errors are 1e-3 to 4e-3.
 */
const FP16_TOLERANCE = 1e-2;
/** tiny's untrained random weights amplify rounding more than trained ones (measured 1.1e-2). */
const TINY_FP16_TOLERANCE = 2e-2;

const sessions: PartSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

/** The fp32 and fp16 sessions of one part. */
async function both(config: SdConfig, part: SdPart, weights: WeightSource): Promise<{ fp32: PartSession; fp16: PartSession; fp16Bytes: Uint8Array; targets: ReturnType<typeof buildPart>['loraTargets'] }> {
  const { builder, loraTargets } = buildPart(config, part, weights);
  const bytes = builder.toBytes();
  const fp16Bytes = float16Graph(bytes);
  const [fp32, fp16] = await Promise.all([PartSession.create(bytes), PartSession.create(fp16Bytes)]);
  sessions.push(fp32, fp16);
  return { fp32, fp16, fp16Bytes, targets: loraTargets };
}

function expectClose(what: string, ours: Float32Array, reference: Float32Array, tolerance = FP16_TOLERANCE): void {
  const error = relativeError(ours, reference);
  console.log(`fp16 ${what}: max relative error ${error.toExponential(2)} (tolerance ${tolerance})`);
  expect(ours.every(Number.isFinite)).toBe(true);
  expect(error).toBeLessThanOrEqual(tolerance);
}

const data = (t: HostTensor) => t.data as Float32Array;

describe('fp16 graphs on the reduced SD1.5 layout vs the reference (parity fixtures)', () => {
  const config = parityConfig();
  let weights: TensorWeights;
  beforeAll(async () => {
    weights = new TensorWeights((await readSafetensors(path.join(PARITY_DIR, 'checkpoint.safetensors'))).tensors);
  });

  it('UNet: within tolerance of the LDM UNetModel, computing in float16 on fp16 weights as stored', { timeout: 300_000 }, async () => {
    const fx = await fixture('unet');
    const { fp16, fp16Bytes, targets } = await both(config, 'unet', weights);
    const out = await fp16.run({ sample: fx.get('sample')!, timestep: fx.get('timestep')!, context: fx.get('context')!, ...loraFeeds(targets) });
    expectClose('UNet vs LDM', data(out.eps!), f32(fx, 'eps'));

    const graph = decodeModel(fp16Bytes).graph!;
    const types = valueTypes(graph);
    const heavy = graph.node!.filter((n) => ['Conv', 'Gemm', 'MatMul', 'MultiHeadAttention'].includes(n.opType!));
    expect(heavy.length).toBeGreaterThan(50);
    expect(heavy.every((n) => types.get(n.input![0]!) === DataType.FLOAT16 && types.get(n.input![1]!) === DataType.FLOAT16)).toBe(true);
    // The checkpoint's fp16 weights are used as stored: no initializer is cast to float32.
    const stored = new Set(graph.initializer!.map((t) => t.name));
    // float32 initializers are left only where ONNX wants float32 (Resize's scales).
    const resizeScales = new Set(graph.node!.filter((n) => n.opType === 'Resize').map((n) => n.input![2]));
    expect(graph.initializer!.filter((t) => t.dataType === DataType.FLOAT && !resizeScales.has(t.name!))).toEqual([]);
    // Stored weights are cast only where a float32 node reads them (the norms' scale and bias).
    const castUp = new Set(graph.node!.filter((n) => n.opType === 'Cast' && stored.has(n.input![0])).map((n) => n.output![0]));
    expect(castUp.size).toBeGreaterThan(0);
    expect(graph.node!.filter((n) => n.input!.some((i) => castUp.has(i)) && !keepsFloat32(n))).toEqual([]);
  });

  it('text encoder: within tolerance of OpenAI CLIP (last layer and clip skip 2)', async () => {
    const fx = await fixture('text');
    const { fp16, targets } = await both(config, 'text', weights);
    const out = await fp16.run({ input_ids: fx.get('input_ids')!, ...loraFeeds(targets) });
    expectClose('text encoder vs CLIP', data(out.hidden!), f32(fx, 'hidden'));
    expectClose('text encoder clip skip 2 vs CLIP', data(out.hidden_skip2!), f32(fx, 'hidden_skip2'));
  });

  it('VAE decoder: uint8 pixels within 2 levels of the LDM decoder, rounded', async () => {
    const fx = await fixture('vae');
    const { fp16 } = await both(config, 'vaeDecoder', weights);
    const out = await fp16.run({ latent: fx.get('latent')! });
    const worst = worstPixelError(out.image!.data as Uint8Array, f32(fx, 'decoded'));
    console.log(`fp16 VAE decoder vs LDM: worst pixel ${worst.toFixed(2)} levels`);
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('VAE encoder: mean and std within tolerance of the LDM encoder', async () => {
    const fx = await fixture('vae');
    const { fp16 } = await both(config, 'vaeEncoder', weights);
    const out = await fp16.run({ image: fx.get('image')! });
    expectClose('VAE encoder mean vs LDM', data(out.mean!), f32(fx, 'mean'));
    expectClose('VAE encoder std vs LDM', data(out.std!), f32(fx, 'std'));
  });
});

describe('fp16 graphs of tiny (float32 weights converted) vs its fp32 graphs', () => {
  const weights = new TensorWeights(randomWeights(tiny, 0));
  const rng = new Rng(5);

  it('UNet at timesteps 999 and 1.5, with a LoRA fed', async () => {
    const { fp32, fp16, targets } = await both(tiny, 'unet', weights);
    const rank = 2;
    const lora = new Map(targets.map((t) => [t.name, { a: rng.fillNormal(new Float32Array(t.in * rank)).map((v) => v * 0.1), b: rng.fillNormal(new Float32Array(rank * t.out)).map((v) => v * 0.1), rank }]));
    const feeds = {
      sample: { dtype: 'float32' as const, dims: [2, 4, 16, 16], data: rng.fillNormal(new Float32Array(2 * 4 * 16 * 16)) },
      timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(999, 1.5) },
      context: { dtype: 'float32' as const, dims: [2, 77, tiny.unet.contextDim], data: rng.fillNormal(new Float32Array(2 * 77 * tiny.unet.contextDim)) },
      ...loraFeeds(targets, lora),
    };
    const [a, b] = await Promise.all([fp32.run(feeds), fp16.run(feeds)]);
    expectClose('tiny UNet vs fp32', data(b.eps!), data(a.eps!), TINY_FP16_TOLERANCE);
  });

  it('text encoder and VAE decoder', async () => {
    const text = await both(tiny, 'text', weights);
    const ids = { dtype: 'int64' as const, dims: [1, 77], data: BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i < 5 ? 1 + i * 37 : 0)) };
    const [t32, t16] = await Promise.all([text.fp32.run({ input_ids: ids, ...loraFeeds(text.targets) }), text.fp16.run({ input_ids: ids, ...loraFeeds(text.targets) })]);
    expectClose('tiny text encoder vs fp32', data(t16.hidden!), data(t32.hidden!), TINY_FP16_TOLERANCE);

    const vae = await both(tiny, 'vaeDecoder', weights);
    const latent = { dtype: 'float32' as const, dims: [1, 4, 8, 8], data: rng.fillNormal(new Float32Array(4 * 64)) };
    const [v32, v16] = await Promise.all([vae.fp32.run({ latent }), vae.fp16.run({ latent })]);
    const [p32, p16] = [v32.image!.data as Uint8Array, v16.image!.data as Uint8Array];
    expect(Math.max(...p32.map((v, i) => Math.abs(v - p16[i]!)))).toBeLessThanOrEqual(2);
  });

  it('VAE encoder: mean and std', async () => {
    const vae = await both(tiny, 'vaeEncoder', weights);
    const image = { dtype: 'uint8' as const, dims: [1, 32, 32, 3], data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 256) };
    const [e32, e16] = [await vae.fp32.run({ image }), await vae.fp16.run({ image })];
    expectClose('tiny VAE encoder mean vs fp32', data(e16.mean!), data(e32.mean!), TINY_FP16_TOLERANCE);
    expectClose('tiny VAE encoder std vs fp32', data(e16.std!), data(e32.std!), TINY_FP16_TOLERANCE);
  });
});

describe('the precision SD models choose', () => {
  it('fp32 on the CPU provider; FACECHAIN_PRECISION=fp16 makes every part from its fp16 graph', async () => {
    expect(await sdPrecision(undefined)).toBe('fp32');
    await expect(sdPrecision('fp8')).rejects.toThrow(/FACECHAIN_PRECISION: fp16 or fp32/);
    const weights = new TensorWeights(randomWeights(tiny, 0));
    const make = () => sdModelFromWeights('tiny-precision', tiny, clipTokenizerFromJson(tinyClipTokenizerJson()), weights);
    const plain = make();
    const half = make();
    process.env.FACECHAIN_PRECISION = 'fp16';
    try {
      const unet = await half.session('unet');
      expect(half.precisions()).toEqual({ unet: { precision: 'fp16' } });
      const latent = { data: new Rng(9).fillNormal(new Float32Array(4 * 64)), batch: 1, channels: 4, height: 8, width: 8 };
      const [b] = await decodeLatents(half, latent);
      delete process.env.FACECHAIN_PRECISION;
      const [a] = await decodeLatents(plain, latent);
      expect(Math.max(...a!.data.map((v, i) => Math.abs(v - b!.data[i]!)))).toBeLessThanOrEqual(2);
      expect(unet.inputNames).toContain('sample');
      expect(half.precisions()).toEqual({ unet: { precision: 'fp16' }, vaeDecoder: { precision: 'fp16' } });
      expect(plain.precisions()).toEqual({ vaeDecoder: { precision: 'fp32' } });
    } finally {
      delete process.env.FACECHAIN_PRECISION;
      await Promise.all([plain.release(), half.release()]);
    }
  });
});

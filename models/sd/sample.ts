import { z } from 'zod';
import { SeedSchema } from '../../runtime/params.ts';
import { Rng } from '../../runtime/rng.ts';
import type { Image } from '../../runtime/values.ts';
import { createScheduler, SchedulerNameSchema } from './schedulers/index.ts';
import { encodePrompts } from './encode-prompt.ts';
import { encodeImage } from './vae-codec.ts';
import { loraFeeds, type LoraBranches } from './lora-feeds.ts';
import type { Latent } from './latent.ts';
import type { SdModel } from './sd-model.ts';
import { latentFactor } from './config.ts';
import type { HostTensor } from '../onnx/index.ts';
import type { Mask } from '../../runtime/values.ts';
import { fillMasked, isInpaintingUnet, latentMask, maskedImage, MaskedContentSchema } from './inpaint.ts';
import { residentSteps } from './resident-steps.ts';

export const SampleParamsSchema = z.object({
  prompt: z.string(),
  negativePrompt: z.string().default(''),
  steps: z.int().min(1).max(150).default(20),
  /** Classifier-free guidance scale; 1 skips the unconditional pass. */
  cfg: z.number().min(1).max(30).default(7),
  /** Image i of a batch uses seed + i, so it matches a single run with that seed. */
  seed: SeedSchema,
  width: z.int().min(64).max(2048).multipleOf(8).default(512),
  height: z.int().min(64).max(2048).multipleOf(8).default(512),
  batch: z.int().min(1).max(16).default(1),
  scheduler: SchedulerNameSchema.default('dpmpp_2m_karras'),
  clipSkip: z.union([z.literal(1), z.literal(2)]).default(1),
  /** img2img only: how much of the schedule runs (1 = ignore the image's content). */
  strength: z.number().gt(0).max(1).default(0.75),
  /** Inpainting only: what the masked region starts from. */
  maskedContent: MaskedContentSchema.default('original'),
});
export type SampleParams = z.input<typeof SampleParamsSchema>;

export interface StepInfo {
  /** 0-based index of the UNet call just finished, and how many there are. */
  index: number;
  total: number;
  /** The current latents [batch, 4, height, width] (do not keep: the next step replaces them). */
  latent: Float32Array;
  height: number;
  width: number;
}

export interface SampleHooks {
  signal?: AbortSignal;
  /** img2img: the start image, already at width x height, RGB. */
  init?: Image;
  /**
   * Inpainting: where to repaint (255) and keep (0), at width x height, already softened as wanted;
   * needs `init`. A normal UNet's kept region is re-noised from the start latent and blended in after
   * every step; an inpainting UNet (9 input channels) is given the mask and the masked image instead.
   */
  mask?: Mask;
  onStep?(step: StepInfo): void;
  /** Text-encoder LoRA branches for the run. */
  textLora?: LoraBranches;
  /**
   * UNet LoRA branches for call `index` (per-step schedules). Returning the same map object as the
   * previous call reuses its feeds.
   */
  unetLora?(index: number, total: number): LoraBranches | undefined;
  /**
   * The step loop: 'host' keeps the latent in JS arrays and steps the scheduler there (the default on
   * the CPU provider, and for inpainting); 'resident' keeps latents, text embeddings and LoRA A/B where
   * the UNet runs, on the GPU for GPU providers (their default), stepping the scheduler with small
   * graphs there (resident-steps.ts); 'resident-copied' runs those same graphs with every tensor
   * copied to the host and back in between, the plain path 'resident' must match exactly.
   */
  loop?: 'host' | 'resident' | 'resident-copied';
}

/**
 * txt2img / img2img with classifier-free guidance. Deterministic: the same params, seed and LoRA give
 * byte-identical latents. Cancels between steps when `signal` aborts (throws its reason).
 */
export async function sample(model: SdModel, params: SampleParams, hooks: SampleHooks = {}): Promise<Latent> {
  const p = SampleParamsSchema.parse(params);
  const factor = latentFactor(model.config.vae);
  if (p.width % factor || p.height % factor) throw new Error(`width and height must be multiples of ${factor}`);
  const h = p.height / factor;
  const w = p.width / factor;
  // The latent's channels: an inpainting UNet takes more (mask and masked image) than it returns.
  const channels = model.config.unet.outChannels;
  const plane = channels * h * w;
  const inpainting = isInpaintingUnet(model.config.unet);
  if (hooks.mask && !hooks.init) throw new Error('inpainting needs the start image the mask belongs to');
  if (hooks.mask && (hooks.mask.width !== p.width || hooks.mask.height !== p.height)) {
    throw new Error(`mask is ${hooks.mask.width}x${hooks.mask.height}, sampling ${p.width}x${p.height}`);
  }
  const guided = p.cfg !== 1;
  const scheduler = createScheduler({ name: p.scheduler, steps: p.steps, strength: hooks.init ? p.strength : 1 });
  const total = scheduler.timesteps.length;
  const streams = Array.from({ length: p.batch }, (_, i) => new Rng(p.seed + i));
  const noise = () => {
    const out = new Float32Array(p.batch * plane);
    streams.forEach((rng, i) => rng.fillNormal(out.subarray(i * plane, (i + 1) * plane)));
    return out;
  };
  throwIfAborted(hooks.signal);

  const [uncond, cond] = await encodePrompts(model, [p.negativePrompt, p.prompt], { clipSkip: p.clipSkip, lora: hooks.textLora });
  const perImage = guided ? [...repeat(uncond!.data, p.batch), ...repeat(cond!.data, p.batch)] : repeat(cond!.data, p.batch);
  const context: HostTensor = {
    dtype: 'float32', dims: [perImage.length, cond!.tokens, cond!.width], data: concat(perImage),
  };

  const m = hooks.mask && latentMask(hooks.mask, factor);
  let keep: { clean: Float32Array; noise: Float32Array } | undefined;
  let x: Float32Array;
  if (hooks.init) {
    if (hooks.init.width !== p.width || hooks.init.height !== p.height) {
      throw new Error(`init image is ${hooks.init.width}x${hooks.init.height}, sampling ${p.width}x${p.height}`);
    }
    const fill = hooks.mask && p.maskedContent === 'fill';
    const clean = await encodeBatch(model, fill ? fillMasked(hooks.init, hooks.mask!) : hooks.init, p.batch, noise);
    if (m && p.maskedContent === 'noise') {
      const n = noise();
      for (let k = 0; k < clean.length; k++) clean[k]! += m[k % (h * w)]! * (n[k]! - clean[k]!);
    }
    const startNoise = noise();
    x = scheduler.addNoise(clean, startNoise);
    if (m && !inpainting) keep = { clean: fill ? await encodeBatch(model, hooks.init, p.batch, noise) : clean, noise: startNoise };
  } else {
    x = noise();
    for (let k = 0; k < x.length; k++) x[k]! *= scheduler.initNoiseSigma;
  }

  const unet = await model.session('unet');
  const rows = guided ? 2 * p.batch : p.batch;
  const extra = inpainting ? await inpaintingChannels(model, hooks.init, hooks.mask, p.width, p.height, factor) : undefined;
  const inPlane = model.config.unet.inChannels * h * w;
  let lastLora: LoraBranches | undefined;
  let lastFeeds = loraFeeds(model.loraTargets.unet);
  const loraAt = (i: number) => {
    const lora = hooks.unetLora?.(i, total);
    if (lora !== lastLora) {
      lastFeeds = loraFeeds(model.loraTargets.unet, lora);
      lastLora = lora;
    }
    return lastFeeds;
  };
  const loop = hooks.loop ?? (unet.onCpu || m || inpainting ? 'host' : 'resident');
  if (loop !== 'host') {
    if (m || inpainting) throw new Error('the resident step loop does not inpaint (masked sampling and inpainting UNets use the host loop)');
    const data = await residentSteps(unet, loop === 'resident' ? 'device' : 'host', {
      scheduler, x, dims: [p.batch, channels, h, w], cfg: p.cfg, context, lora: loraAt, noise, signal: hooks.signal,
      ...(hooks.onStep ? { onStep: (index: number, latent: Float32Array) => hooks.onStep!({ index, total, latent, height: h, width: w }) } : {}),
    });
    return { data, batch: p.batch, channels, height: h, width: w };
  }
  for (let i = 0; i < total; i++) {
    throwIfAborted(hooks.signal);
    const loraFeedsNow = loraAt(i);
    const scale = scheduler.inputScale(i);
    const input = new Float32Array(rows * inPlane);
    for (let r = 0; r < rows; r++) {
      const src = (r % p.batch) * plane;
      for (let k = 0; k < plane; k++) input[r * inPlane + k] = x[src + k]! * scale;
      if (extra) input.set(extra, r * inPlane + plane);
    }
    const out = await unet.run({
      sample: { dtype: 'float32', dims: [rows, model.config.unet.inChannels, h, w], data: input },
      timestep: { dtype: 'float32', dims: [rows], data: new Float32Array(rows).fill(scheduler.timesteps[i]!) },
      context,
      ...loraFeedsNow,
    });
    const e = out.eps!.data as Float32Array;
    let eps = e;
    if (guided) {
      eps = new Float32Array(p.batch * plane);
      const offset = p.batch * plane;
      for (let k = 0; k < eps.length; k++) eps[k] = e[k]! + p.cfg * (e[offset + k]! - e[k]!);
    }
    x = scheduler.step(i, x, eps, noise);
    if (keep && m) {
      // The kept region goes back to the start latent at this step's noise level (diffusers' inpaint blend).
      const kept = scheduler.noiseAfter(i, keep.clean, keep.noise);
      for (let k = 0; k < x.length; k++) x[k] = kept[k]! + m[k % (h * w)]! * (x[k]! - kept[k]!);
    }
    hooks.onStep?.({ index: i, total, latent: x, height: h, width: w });
  }
  return { data: x, batch: p.batch, channels, height: h, width: w };
}

/** The VAE's latent of an image for each of `batch` images: mean + std * fresh noise. */
async function encodeBatch(model: SdModel, image: Image, batch: number, noise: () => Float32Array): Promise<Float32Array> {
  const { mean, std } = await encodeImage(model, image);
  const plane = mean.length;
  const clean = new Float32Array(batch * plane);
  const n = noise();
  for (let k = 0; k < clean.length; k++) clean[k] = mean[k % plane]! + std[k % plane]! * n[k]!;
  return clean;
}

/**
 * An inpainting UNet's extra input channels, the same for every image: the mask at latent size and the
 * latent of the image with the masked region grey. Without a mask everything is repainted (txt2img).
 */
async function inpaintingChannels(model: SdModel, init: Image | undefined, mask: Mask | undefined, width: number, height: number, factor: number): Promise<Float32Array> {
  const full: Mask = { width, height, channels: 1, data: new Uint8Array(width * height).fill(255) };
  const grey: Image = { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) };
  const m = latentMask(mask ?? full, factor);
  const { mean } = await encodeImage(model, init && mask ? maskedImage(init, mask) : grey);
  const out = new Float32Array(m.length + mean.length);
  out.set(m);
  out.set(mean, m.length);
  return out;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

function repeat<T>(value: T, n: number): T[] {
  return Array.from({ length: n }, () => value);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of parts) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

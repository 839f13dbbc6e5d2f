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
  onStep?(step: StepInfo): void;
  /** Text-encoder LoRA branches for the run. */
  textLora?: LoraBranches;
  /**
   * UNet LoRA branches for call `index` (per-step schedules). Returning the same map object as the
   * previous call reuses its feeds.
   */
  unetLora?(index: number, total: number): LoraBranches | undefined;
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
  const channels = model.config.unet.inChannels;
  const plane = channels * h * w;
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
  const perImage = guided ? [...repeat(uncond.data, p.batch), ...repeat(cond.data, p.batch)] : repeat(cond.data, p.batch);
  const context: HostTensor = {
    dtype: 'float32', dims: [perImage.length, cond.tokens, cond.width], data: concat(perImage),
  };

  let x: Float32Array;
  if (hooks.init) {
    if (hooks.init.width !== p.width || hooks.init.height !== p.height) {
      throw new Error(`init image is ${hooks.init.width}x${hooks.init.height}, sampling ${p.width}x${p.height}`);
    }
    const { mean, std } = await encodeImage(model, hooks.init);
    const clean = new Float32Array(p.batch * plane);
    const n = noise();
    for (let k = 0; k < clean.length; k++) clean[k] = mean[k % plane] + std[k % plane] * n[k];
    x = scheduler.addNoise(clean, noise());
  } else {
    x = noise();
    for (let k = 0; k < x.length; k++) x[k] *= scheduler.initNoiseSigma;
  }

  const unet = await model.session('unet');
  const rows = guided ? 2 * p.batch : p.batch;
  let lastLora: LoraBranches | undefined;
  let lastFeeds = loraFeeds(model.loraTargets.unet);
  for (let i = 0; i < total; i++) {
    throwIfAborted(hooks.signal);
    const lora = hooks.unetLora?.(i, total);
    if (lora !== lastLora) {
      lastFeeds = loraFeeds(model.loraTargets.unet, lora);
      lastLora = lora;
    }
    const scale = scheduler.inputScale(i);
    const input = new Float32Array(rows * plane);
    for (let r = 0; r < rows; r++) {
      const src = (r % p.batch) * plane;
      for (let k = 0; k < plane; k++) input[r * plane + k] = x[src + k] * scale;
    }
    const out = await unet.run({
      sample: { dtype: 'float32', dims: [rows, channels, h, w], data: input },
      timestep: { dtype: 'float32', dims: [rows], data: new Float32Array(rows).fill(scheduler.timesteps[i]) },
      context,
      ...lastFeeds,
    });
    const e = out.eps.data as Float32Array;
    let eps = e;
    if (guided) {
      eps = new Float32Array(p.batch * plane);
      const offset = p.batch * plane;
      for (let k = 0; k < eps.length; k++) eps[k] = e[k] + p.cfg * (e[offset + k] - e[k]);
    }
    x = scheduler.step(i, x, eps, noise);
    hooks.onStep?.({ index: i, total, latent: x, height: h, width: w });
  }
  return { data: x, batch: p.batch, channels, height: h, width: w };
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

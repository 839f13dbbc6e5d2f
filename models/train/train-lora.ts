// FaceChain's face-LoRA training (paper section 2.2) in onnxruntime: per step, a latent of a training
// image is noised at a uniform timestep, the UNet with the LoRA predicts the noise, and the MSE's
// gradients (step-graphs.ts) feed AdamW (an ORT graph too). Step k draws everything from
// Rng(seed).fork(k), so a run resumed from a checkpoint continues exactly as if never stopped.
import { z } from 'zod';
import { seedParam } from '../../runtime/params.ts';
import { Rng } from '../../runtime/rng.ts';
import { gradName, learningRate, LrScheduleSchema } from '../onnx/grad/index.ts';
import { AdamW, zeroMoments } from './optimizer.ts';
import { ResidentLora } from './resident-lora.ts';
import { LossScaler, MAX_LOSS_SCALE } from './loss-scale.ts';
import { ensureProviderChoice } from '../session/providers.ts';
import type { Lora } from '../lora/schema.ts';
import type { Dataset } from '../preprocess/values.ts';
import { loraInputNames } from '../sd/lora-targets.ts';
import { noiseSchedule } from '../sd/schedulers/noise-schedule.ts';
import type { SdModel } from '../sd/sd-model.ts';
import { initLoraParams, LORA_INITS, type LoraParams } from './lora-params.ts';
import { StepGraphs, type StepBatch } from './step-graphs.ts';
import { loadTrainingState, saveTrainingState, type TrainingState } from './state.ts';
import { TrainingSet } from './training-set.ts';
import { warmStart } from './warm-start.ts';

export const TrainSettingsSchema = z.object({
  rank: z.int().min(1).max(256).default(4).meta({ description: "LoRA rank (FaceChain's code 4; the paper 32). A start-from LoRA brings its own" }),
  alpha: z.number().min(0).max(1024).default(0).meta({
    description: "LoRA alpha; the branch is scaled by alpha / rank. 0 = rank, scale 1: FaceChain's code (diffusers' attention processors have no alpha). kohya's common 32 at rank 4 scales by 8",
  }),
  init: z.enum(LORA_INITS).default('normal').meta({
    description: "Down weights' start: normal N(0, 1/rank) as diffusers' LoRA layers (FaceChain's code), or kaiming-uniform as kohya and PEFT. Up weights start at 0 either way",
  }),
  learningRate: z.number().positive().max(1).default(1.5e-4).meta({ description: 'Peak learning rate (FaceChain 1.5e-4; paper 1e-4 to 1.5e-4)', step: 1e-5 }),
  steps: z.int().min(1).max(100_000).default(800).meta({ description: 'Optimiser steps (FaceChain: 200 epochs of its set)' }),
  batch: z.int().min(1).max(16).default(1).meta({ description: 'Images per step' }),
  resolution: z.int().min(64).max(1024).default(512).meta({ description: 'Training size, pixels (a multiple of 8)', step: 64 }),
  seed: seedParam(),
  targets: z.enum(['attention', 'all']).default('attention').meta({ description: "UNet modules with LoRA: attention q/k/v/out (FaceChain) or every kohya target" }),
  flip: z.boolean().default(true).meta({ description: 'Mirror half the draws (FaceChain --random_flip)' }),
  cropMin: z.number().min(0.5).max(1).default(1).meta({ description: 'Random square crops down to this fraction of the side, resized back (1 = off)', step: 0.05 }),
  schedule: LrScheduleSchema.shape.kind.default('cosine').meta({ description: "Learning-rate schedule (FaceChain's code cosine; the paper cosine with restarts)" }),
  cycles: z.int().min(1).max(20).default(1).meta({ description: 'Restarts of cosine_with_restarts' }),
  warmupSteps: z.int().min(0).max(10_000).default(0),
  weightDecay: z.number().min(0).max(1).default(1e-2).meta({ description: 'AdamW decoupled weight decay', step: 1e-3 }),
  maxGradNorm: z.number().min(0).max(100).default(1).meta({ description: 'Clip the global gradient norm to this (0 = off)' }),
  textEncoder: z.boolean().default(false).meta({ description: 'Also train LoRA on the text encoder (same targets choice: attention, or attention and MLP)' }),
  recompute: z.enum(['auto', 'on', 'off']).default('auto').meta({
    description:
      "Gradient checkpointing: keep only each UNet block's input and recompute its activations in the backward pass (about a third more compute, a fraction of the memory; " +
      'SD1.5 at 512 px needs it on a 24 GB machine). auto = on from 256 px (batch x side² of 256²), where activations dominate; below, the extra session calls cost more than they save',
  }),
  attentionHeads: z.int().min(0).max(64).default(1).meta({ description: 'Attention heads whose score tensors are made at once (0 = all): fewer keep less memory alive at 512 px' }),
  mixedPrecision: z.enum(['auto', 'on', 'off']).default('auto').meta({
    description:
      'Mixed precision: the UNet forward and backward in float16, LoRA weights and AdamW moments in float32, the loss scaled against float16 underflow ' +
      '(a step whose gradients overflow is skipped and the scale halved). auto = on for GPU providers, off on the CPU, whose float16 kernels compute in float32 behind casts',
  }),
  lossScale: z.number().min(1).max(MAX_LOSS_SCALE).default(2 ** 16).meta({ description: 'Mixed precision: the loss scale to start from (PyTorch GradScaler: 65536)' }),
  lossScaleGrowth: z.int().min(1).max(100_000).default(2000).meta({ description: 'Mixed precision: steps without overflow before the loss scale doubles' }),
});
/** Settings that change how a step is computed, not what it computes: a checkpoint resumes across them. */
export const HOW_SETTINGS = ['recompute', 'attentionHeads'] as const;
export type TrainSettings = z.infer<typeof TrainSettingsSchema>;

export interface StepReport {
  /** Steps done (1 after the first). */
  step: number;
  total: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Steps per second over this run (resumed steps excluded). */
  rate: number;
  /** Mixed precision: the loss scale after this step, and whether the step was skipped (its gradients overflowed float16; gradNorm NaN). */
  lossScale?: number;
  skipped?: boolean;
}

export interface TrainHooks {
  signal?: AbortSignal;
  /** A training checkpoint: read at the start when present, written every `checkpointEvery` steps, at the end and on cancel. */
  checkpoint?: { file: string; every: number; fingerprint: string };
  /** After each step; `params()` gives the LoRA as it is now (a copy from the device in the resident loop: ask only when needed). */
  onStep?(report: StepReport, params: () => Promise<LoraParams>): void | Promise<void>;
  /** Start from this LoRA (same modules as the run trains) instead of zero, as FaceChain's `fromfacecommon`. */
  startFrom?: Lora;
  /**
   * Where the LoRA, AdamW's moments and each step's gradients live between steps: 'resident' in the
   * step's session (on the GPU with WebGPU; resident-lora.ts), copied to the host only for checkpoints,
   * `params()` and the end; 'host' sends them to the graphs and back every step. Default: resident
   * where it runs, host where it does not (a trained text encoder: StepGraphs.residentSession).
   */
  loop?: 'host' | 'resident';
}

export interface TrainResult {
  params: LoraParams;
  /** Loss of each step of this run, in order (resumed steps are not in it). */
  losses: number[];
  /** The step the run resumed from (0 when it started fresh). */
  resumedFrom: number;
  /** Where the LoRA and moments lived between steps (TrainHooks.loop). */
  loop: 'host' | 'resident';
}

const SCHEDULE = noiseSchedule();

export async function trainLora(model: SdModel, dataset: Dataset, settings: Partial<TrainSettings>, hooks: TrainHooks = {}): Promise<TrainResult> {
  const s = TrainSettingsSchema.parse(settings);
  const set = await TrainingSet.open(model, dataset, s.resolution);
  const recompute = s.recompute === 'auto' ? s.batch * s.resolution ** 2 >= 256 ** 2 : s.recompute === 'on';
  const mixedPrecision = s.mixedPrecision === 'auto' ? (await ensureProviderChoice()).provider !== 'cpu' : s.mixedPrecision === 'on';
  const shape = { batch: s.batch, side: set.latentSide, targets: s.targets, textEncoder: s.textEncoder, recompute, headsPerGroup: s.attentionHeads || undefined, mixedPrecision };
  const targets = StepGraphs.targets(model, shape);
  if (!targets.length) throw new Error(`params.targets: the model has no "${s.targets}" LoRA targets`);
  const params = hooks.startFrom
    ? warmStart(targets, hooks.startFrom, s.alpha, model.config.name)
    : initLoraParams(targets, s.rank, s.alpha || s.rank, new Rng(s.seed).fork('init'), s.init);
  const { rank } = params;
  const branchScale = params.alpha / rank;
  const values = new Map(params.modules.flatMap((m) => {
    const n = loraInputNames(m.target);
    return [[n.a, m.a], [n.b, m.b]] as const;
  }));
  const bNames = params.modules.map((m) => loraInputNames(m.target).b);
  const graphs = await StepGraphs.create(model, shape, params, [...new Set(set.captions)]);
  const specs = params.modules.flatMap((m) => {
    const n = loraInputNames(m.target);
    return [{ name: n.a, dims: [m.target.in, rank] }, { name: n.b, dims: [rank, m.target.out] }];
  });
  const adamw = { weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm };
  const session = graphs.residentSession;
  // The host loop is kept for a trained text encoder (and as the reference the resident one must
  // match); elsewhere the resident loop is the default, on the CPU too (the same speed there: tiny model, recompute on and off).
  const loop = hooks.loop ?? (session ? 'resident' : 'host');
  if (loop === 'resident' && !session) throw new Error('the resident training loop needs a frozen text encoder (textEncoder: false)');
  let optimiser: AdamW | undefined;
  let resident: ResidentLora | undefined;
  try {
    optimiser = loop === 'host' ? await AdamW.create(specs, adamw) : undefined;
  } catch (e) {
    await graphs.release();
    throw e;
  }
  const scaler = mixedPrecision ? new LossScaler(s.lossScale, s.lossScaleGrowth) : undefined;
  const state: TrainingState = { step: 0, updates: 0, params, moments: optimiser?.moments ?? zeroMoments(specs), ...(scaler ? { lossScale: scaler } : {}) };
  const ck = hooks.checkpoint;
  const lrSchedule = LrScheduleSchema.parse({ kind: s.schedule, lr: s.learningRate, totalSteps: s.steps, warmupSteps: s.warmupSteps, cycles: s.cycles });
  const losses: number[] = [];
  const started = performance.now();
  const current = async () => (resident ? resident.download() : params);
  const save = async () => {
    await current();
    if (ck) await saveTrainingState(ck.file, state, ck.fingerprint);
  };

  /** Step k's loss (unscaled), gradient norm and whether it overflowed, with the params and moments updated unless it did. */
  const hostStep = async (batch: StepBatch, k: number, lr: number, lossScale: number) => {
    const step = await graphs.gradients(params, batch, lossScale);
    const { grads } = step;
    const loss = step.loss / lossScale;
    // The graphs saw B·scale: d/dB = scale · d/d(B·scale).
    for (const name of bNames) {
      const g = grads[gradName(name)]!.data as Float32Array;
      for (let i = 0; i < g.length; i++) g[i]! *= branchScale;
    }
    // Mixed precision: float16 overflow skips the step (params and moments as they were) and lowers the scale.
    const overflow = scaler ? !scaler.unscale(grads) || !Number.isFinite(loss) : false;
    if (!scaler && !Number.isFinite(loss)) throw new Error(`training diverged at step ${k + 1} (loss ${loss}); lower the learning rate`);
    return { loss, overflow, gradNorm: overflow ? Number.NaN : await optimiser!.update(values, grads, lr) };
  };
  // The same arithmetic in the update graph beside the step's session (resident-lora.ts).
  const residentStep = async (batch: StepBatch, k: number, lr: number, lossScale: number) => {
    const r = await resident!.step(await graphs.keptGradients(resident!.feeds, batch, lossScale), state.updates + 1, lr, lossScale);
    const loss = r.loss / lossScale;
    if (!scaler && !Number.isFinite(loss)) throw new Error(`training diverged at step ${k + 1} (loss ${loss}); lower the learning rate`);
    const overflow = scaler ? !r.finite : false;
    return { loss, overflow, gradNorm: overflow ? Number.NaN : r.gradNorm };
  };

  try {
    if (ck && (await loadTrainingState(ck.file, state, ck.fingerprint)) && optimiser) optimiser.step = state.updates;
    if (loop === 'resident') resident = await ResidentLora.create(session!, params, state.moments, graphs.untrainedFeeds(params), { branchScale, mixedPrecision, adamw });
    while (state.step < s.steps) {
      if (hooks.signal?.aborted) throw hooks.signal.reason ?? new Error('cancelled');
      const k = state.step;
      const lossScale = scaler?.scale ?? 1;
      const lr = learningRate(lrSchedule, k);
      const batch = await noisedBatch(set, s, k, model.config.unet.inChannels);
      const { loss, overflow, gradNorm } = await (resident ? residentStep : hostStep)(batch, k, lr, lossScale);
      if (!overflow) state.updates++;
      scaler?.update(overflow);
      losses.push(loss);
      state.step = k + 1;
      const rate = losses.length / ((performance.now() - started) / 1000);
      const mixed = scaler ? { lossScale: scaler.scale, skipped: overflow } : {};
      await hooks.onStep?.({ step: state.step, total: s.steps, loss, lr, gradNorm, rate, ...mixed }, current);
      if (ck && state.step % ck.every === 0 && state.step < s.steps) await save();
    }
    await save();
  } catch (e) {
    // A cancel lands between steps or inside onStep (a preview): the params and step are those of the
    // last finished step either way, so that is what the checkpoint keeps.
    if (hooks.signal?.aborted) await save();
    throw e;
  } finally {
    await resident?.release();
    await graphs.release();
    await optimiser?.release();
  }
  return { params, losses, resumedFrom: state.step - losses.length, loop };
}

/**
 * Step k's batch, all drawn from Rng(seed).fork(k): images in a seeded order per epoch, augmented, each
 * noised at a uniform timestep; the noise is the target.
 */
export async function noisedBatch(
  set: TrainingSet, s: Pick<TrainSettings, 'batch' | 'seed' | 'flip' | 'cropMin'>, k: number, channels: number,
): Promise<StepBatch> {
  const plane = channels * set.latentSide * set.latentSide;
  const rng = new Rng(s.seed).fork(`step:${k}`);
  const batch = { sample: new Float32Array(s.batch * plane), target: new Float32Array(s.batch * plane), timesteps: new Float32Array(s.batch), captions: [] as string[] };
  for (let j = 0; j < s.batch; j++) {
    const draw = await set.draw(epochOrder(set.size, s.seed, k * s.batch + j), { flip: s.flip, cropMin: s.cropMin }, rng);
    const t = rng.int(SCHEDULE.trainSteps);
    const ab = SCHEDULE.alphasCumprod[t]!;
    const [x0c, nc] = [Math.sqrt(ab), Math.sqrt(1 - ab)];
    const noise = batch.target.subarray(j * plane, (j + 1) * plane);
    rng.fillNormal(noise);
    const x = batch.sample.subarray(j * plane, (j + 1) * plane);
    for (let i = 0; i < plane; i++) x[i] = x0c * draw.latent[i]! + nc * noise[i]!;
    batch.timesteps[j] = t;
    batch.captions.push(draw.caption);
  }
  return batch;
}

/** Index of draw `n` when every epoch visits the set once in its own seeded order. */
function epochOrder(size: number, seed: number, n: number): number {
  const epoch = Math.floor(n / size);
  const order = Array.from({ length: size }, (_, i) => i);
  const rng = new Rng(seed).fork(`epoch:${epoch}`);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order[n % size]!;
}

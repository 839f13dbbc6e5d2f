// Full-weight UNet training (the demo model's, from scratch): the UNet is built with every weight as a
// graph input (ShapeRecorder), so the gradient graph returns d(loss)/d(weight) for all of them and one
// AdamW graph updates them in place. The batches are trainLora's (noisedBatch); the text encoder is
// frozen and a share of the captions is dropped to "" so that classifier-free guidance has an
// unconditional prediction to push away from.
import { z } from 'zod';
import { Rng } from '../../runtime/rng.ts';
import { addMseLoss, buildGradientGraph, learningRate, LrScheduleSchema } from '../onnx/grad/index.ts';
import { AdamW } from './optimizer.ts';
import { probeShapes } from './probe.ts';
import { encodeModel, type HostTensor } from '../onnx/index.ts';
import { buildPart } from '../sd/build.ts';
import { encodePrompts } from '../sd/encode-prompt.ts';
import { PartSession } from '../sd/part-session.ts';
import type { SdModel } from '../sd/sd-model.ts';
import { ShapeRecorder } from '../sd/weight-source.ts';
import { noisedBatch, TrainSettingsSchema } from './train-lora.ts';
import type { TrainingSet } from './training-set.ts';
import { noiseSchedule } from '../sd/schedulers/noise-schedule.ts';

const SCHEDULE = noiseSchedule();

export const UnetTrainSettingsSchema = TrainSettingsSchema.pick({
  learningRate: true, steps: true, batch: true, seed: true, flip: true, schedule: true, warmupSteps: true, weightDecay: true, maxGradNorm: true,
}).extend({
  cropMin: z.number().min(0.5).max(1).default(1),
  captionDropout: z.number().min(0).max(1).default(0.1).meta({ description: 'Share of draws trained with the empty caption' }),
  x0Weight: z.number().min(0).max(1000).default(0).meta({
    description: 'Weight each draw by its noise-to-signal ratio (1 - ᾱ) / ᾱ, clamped to [1, this], so the loss counts like an error on the image; 0 = plain noise MSE',
  }),
  threads: z.int().min(0).max(64).default(0).meta({ description: 'ORT intra-op threads (0 = ORT default)' }),
});
export type UnetTrainSettings = z.infer<typeof UnetTrainSettingsSchema>;

export interface UnetStepReport {
  step: number;
  total: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Seconds since the start. */
  elapsed: number;
}

/**
 * Trains every UNet weight of `model` on `set`, starting from `weights` (UNet keys, float32; updated in
 * place: it holds the current values from the start, and is returned). Step k draws from Rng(seed).fork(k), so a run is reproducible from its seed on one machine.
 */
export async function trainUnet(
  model: SdModel, set: TrainingSet, weights: Map<string, HostTensor>, settings: Partial<UnetTrainSettings>,
  onStep?: (r: UnetStepReport) => void | Promise<void>,
): Promise<{ weights: Map<string, HostTensor>; losses: number[] }> {
  const s = UnetTrainSettingsSchema.parse(settings);
  const { inChannels: channels } = model.config.unet;
  const { contextTokens: tokens, width } = model.config.text;
  const side = set.latentSide;

  const recorder = new ShapeRecorder();
  const { builder } = buildPart(model.config, 'unet', recorder, { attention: 'decomposed', lora: false });
  const weighted = s.x0Weight > 0;
  const target = builder.input('target', 'float32', ['batch', channels, 'height', 'width']);
  addMseLoss(builder, { name: 'eps', dtype: 'float32' }, target, 'loss', weighted ? builder.input('weight', 'float32', ['batch', 1, 1, 1]) : undefined);
  const forward = builder.toModel();
  const names = [...recorder.shapes.keys()];
  const missing = names.filter((n) => !weights.has(n));
  if (missing.length) throw new Error(`trainUnet: no initial value for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
  // The live values: `weights` holds them from here on, so a caller may save it between steps.
  const values = new Map(names.map((n) => [n, Float32Array.from(weights.get(n)!.data as Float32Array)]));
  for (const n of names) weights.set(n, { dtype: 'float32', dims: recorder.shapes.get(n)!, data: values.get(n)! });
  const weightFeeds = () => Object.fromEntries(names.map((n): [string, HostTensor] => [n, { dtype: 'float32', dims: recorder.shapes.get(n)!, data: values.get(n)! }]));

  const captions = [...new Set([...Array.from({ length: set.size }, (_, i) => set.captions[i]!), ''])];
  const encoded = await encodePrompts(model, captions);
  const embedding = new Map(captions.map((c, i) => [c, encoded[i]!.data]));
  const plane = channels * side * side;
  const feeds = (batch: { sample: Float32Array; timesteps: Float32Array; target: Float32Array; captions: readonly string[] }) => {
    const context = new Float32Array(s.batch * tokens * width);
    batch.captions.forEach((c, j) => context.set(embedding.get(c)!, j * tokens * width));
    return {
      ...weightFeeds(),
      sample: { dtype: 'float32', dims: [s.batch, channels, side, side], data: batch.sample },
      timestep: { dtype: 'float32', dims: [s.batch], data: batch.timesteps },
      context: { dtype: 'float32', dims: [s.batch, tokens, width], data: context },
      target: { dtype: 'float32', dims: [s.batch, channels, side, side], data: batch.target },
      ...(weighted ? { weight: { dtype: 'float32', dims: [s.batch, 1, 1, 1], data: batch.timesteps.map(x0Weight) } } : {}),
    } satisfies Record<string, HostTensor>;
  };

  const x0Weight = (t: number) => {
    const ab = SCHEDULE.alphasCumprod[t]!;
    return Math.min(Math.max((1 - ab) / ab, 1), s.x0Weight);
  };
  const zeros = new Float32Array(s.batch * plane);
  const probe = feeds({ sample: zeros, timesteps: new Float32Array(s.batch), target: zeros, captions: Array(s.batch).fill('') });
  const infos = await probeShapes(forward, probe);
  const session = await PartSession.create(encodeModel(buildGradientGraph(forward, { loss: 'loss', trainable: names, infos })), { threads: s.threads || undefined });
  const optimiser = await AdamW.create(names.map((name) => ({ name, dims: recorder.shapes.get(name)! })), {
    weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm,
  }, s.threads ? { intraOpNumThreads: s.threads } : undefined);
  const schedule = LrScheduleSchema.parse({ kind: s.schedule, lr: s.learningRate, totalSteps: s.steps, warmupSteps: s.warmupSteps });
  const losses: number[] = [];
  const started = performance.now();
  try {
    for (let k = 0; k < s.steps; k++) {
      const batch = await noisedBatch(set, s, k, channels);
      const drop = new Rng(s.seed).fork(`dropout:${k}`);
      batch.captions = batch.captions.map((c) => (drop.uniform() < s.captionDropout ? '' : c));
      const { loss: lossTensor, ...grads } = await session.run(feeds(batch));
      const loss = (lossTensor!.data as Float32Array)[0];
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${k + 1} (loss ${loss}); lower the learning rate`);
      const lr = learningRate(schedule, k);
      const gradNorm = await optimiser.update(values, grads, lr);
      losses.push(loss!);
      await onStep?.({ step: k + 1, total: s.steps, loss: loss!, lr, gradNorm, elapsed: (performance.now() - started) / 1000 });
    }
  } finally {
    await session.release();
    await optimiser.release();
  }
  return { weights, losses };
}

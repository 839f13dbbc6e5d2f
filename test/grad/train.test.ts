// End to end: the training graph and AdamW fit a small MLP to a teacher, and the tiny UNet's LoRA to
// one noise target; the loss has to fall by a large factor in 50 steps.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type HostTensor, type ModelProto } from '../../models/onnx/index.ts';
import { addMseLoss, buildGradientGraph, learningRate, type LrSchedule } from '../../models/onnx/grad/index.ts';
import { AdamW } from '../../models/train/optimizer.ts';
import { probeShapes } from '../../models/train/probe.ts';
import { buildPart } from '../../models/sd/build.ts';
import { tiny } from '../../models/sd/config.ts';
import { loraInputNames } from '../../models/sd/lora-targets.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { Rng } from '../../runtime/rng.ts';
import { randomTensor, runSession, session } from './grad-check.ts';

/** Runs the schedule's steps of AdamW on the trainable feeds (updated in place): the loss of each step, and the time of one. */
async function fit(model: ModelProto, feeds: Record<string, HostTensor>, trainable: string[], schedule: LrSchedule, weightDecay = 0): Promise<{ losses: number[]; msPerStep: number }> {
  const training = await session(buildGradientGraph(model, { loss: 'loss', trainable, infos: await probeShapes(model, feeds) }));
  const opt = await AdamW.create(trainable.map((name) => ({ name, dims: feeds[name]!.dims })), { weightDecay });
  const values = new Map(trainable.map((name) => [name, feeds[name]!.data as Float32Array]));
  const losses: number[] = [];
  const start = performance.now();
  for (let step = 0; step < schedule.totalSteps; step++) {
    const out = await runSession(training, feeds);
    losses.push((out.loss!.data as Float32Array)[0]!);
    await opt.update(values, out, learningRate(schedule, step));
  }
  const msPerStep = (performance.now() - start) / schedule.totalSteps;
  await Promise.all([training.release(), opt.release()]);
  return { losses, msPerStep };
}

describe('training with gradients and AdamW', () => {
  it('fits a two-layer MLP to a teacher network', async () => {
    const rng = new Rng(21);
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [32, 4]);
    const [w1, b1, w2] = [b.input('w1', 'float32', [4, 16]), b.input('b1', 'float32', [16]), b.input('w2', 'float32', [16, 2])];
    addMseLoss(b, b.matMul(b.tanh(b.add(b.matMul(x, w1), b1)), w2), b.input('target', 'float32', [32, 2]));
    const teacher = randomTensor([4, 2], rng).data as Float32Array;
    const xs = randomTensor([32, 4], rng);
    const target = new Float32Array(64);
    for (let i = 0; i < 32; i++) for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += (xs.data as Float32Array)[4 * i + k]! * teacher[2 * k + j]!;
      target[2 * i + j] = Math.sin(s);
    }
    const feeds = {
      x: xs, target: { dtype: 'float32' as const, dims: [32, 2], data: target },
      w1: randomTensor([4, 16], rng, 0.5), b1: randomTensor([16], rng, 0.1), w2: randomTensor([16, 2], rng, 0.25),
    };
    const { losses } = await fit(b.toModel(), feeds, ['w1', 'b1', 'w2'], { kind: 'constant', lr: 0.05, totalSteps: 50, warmupSteps: 0, cycles: 1 });
    console.log(`MLP: loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)} in 50 steps`);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
  });

  it('fits the tiny UNet LoRA to one noise target', async () => {
    const built = buildPart(tiny, 'unet', new TensorWeights(randomWeights(tiny, 1)), { attention: 'decomposed' });
    addMseLoss(built.builder, { name: 'eps', dtype: 'float32' }, built.builder.input('target', 'float32', ['batch', 4, 'height', 'width']));
    const rng = new Rng(8);
    const rank = 4;
    const feeds: Record<string, HostTensor> = {
      sample: randomTensor([1, 4, 8, 8], rng),
      timestep: { dtype: 'float32', dims: [1], data: Float32Array.of(300) },
      context: randomTensor([1, 6, tiny.unet.contextDim], rng),
      target: randomTensor([1, 4, 8, 8], rng),
    };
    // kohya's start: A uniform in ±1/sqrt(in), B zero (the LoRA starts as a no-op).
    for (const t of built.loraTargets) {
      const n = loraInputNames(t);
      const bound = 1 / Math.sqrt(t.in);
      feeds[n.a] = { dtype: 'float32', dims: [t.in, rank], data: Float32Array.from({ length: t.in * rank }, () => rng.range(-bound, bound)) };
      feeds[n.b] = { dtype: 'float32', dims: [rank, t.out], data: new Float32Array(rank * t.out) };
    }
    const trainable = built.loraTargets.flatMap((t) => Object.values(loraInputNames(t)));
    const { losses, msPerStep } = await fit(built.builder.toModel(), feeds, trainable, { kind: 'cosine_with_restarts', lr: 1e-2, totalSteps: 50, warmupSteps: 5, cycles: 1 }, 1e-2);
    console.log(`tiny UNet LoRA: loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)} in 50 steps, ${msPerStep.toFixed(1)} ms per step (training graph + AdamW)`);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
  });
});

// Central finite differences against the gradients of a training graph, both run in onnxruntime-node.
import { encodeModel, GraphBuilder, type HostTensor, type ModelProto, type Value } from '../../models/onnx/index.ts';
import { buildGradientGraph, gradName, type RuleTable } from '../../models/onnx/grad/index.ts';
import { probeShapes } from '../../models/train/probe.ts';
import { ort, type OrtSession } from '../../models/session/ort.ts';
import { fromOrtTensor, toOrtTensor } from '../../models/session/tensors.ts';
import { Rng } from '../../runtime/rng.ts';

export type Feeds = Record<string, HostTensor>;

export function randomTensor(dims: number[], rng: Rng, scale = 1, offset = 0): HostTensor {
  const n = dims.reduce((a, d) => a * d, 1);
  return { dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => offset + scale * rng.normal()) };
}

export async function session(model: ModelProto): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
}

export async function runSession(s: Pick<OrtSession, 'run'>, feeds: Feeds): Promise<Record<string, HostTensor>> {
  const out = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrtTensor(v)])));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromOrtTensor(v)]));
}

export interface CheckResult {
  /** max |analytic - numeric| over the checked entries, divided by max |numeric|. */
  relError: number;
  /** Largest numeric gradient entry seen (so a check of all-zero gradients cannot pass unnoticed). */
  scale: number;
  checked: number;
}

/** Compares grad.<name> with central differences of `loss` at `count` entries (all when fewer) of each input. */
export async function finiteDifferenceCheck(
  model: ModelProto, feeds: Feeds, trainable: readonly string[],
  o: { loss?: string; eps?: number; count?: number; seed?: number; pick?: 'random' | 'largest'; rules?: RuleTable } = {},
): Promise<CheckResult> {
  const loss = o.loss ?? 'loss';
  const eps = o.eps ?? 1e-2;
  const infos = await probeShapes(model, feeds);
  const training = await session(buildGradientGraph(model, { loss, trainable, infos, rules: o.rules }));
  try {
    const base = await runSession(training, feeds);
    const rng = new Rng(o.seed ?? 7);
    let worst = 0;
    let scale = 0;
    let checked = 0;
    for (const name of trainable) {
      const analytic = base[gradName(name)]!.data as Float32Array;
      const indices = pickEntries(analytic, o.count ?? 24, o.pick ?? 'random', rng);
      for (const i of indices) {
        const at = async (delta: number) => {
          const data = Float32Array.from(feeds[name]!.data as Float32Array);
          data[i]! += delta;
          const out = await runSession(training, { ...feeds, [name]: { ...feeds[name]!, data } });
          return (out[loss]!.data as Float32Array)[0];
        };
        const numeric = ((await at(eps))! - (await at(-eps))!) / (2 * eps);
        worst = Math.max(worst, Math.abs(analytic[i]! - numeric));
        scale = Math.max(scale, Math.abs(numeric));
        checked++;
      }
    }
    return { relError: worst / scale, scale, checked };
  } finally {
    await training.release();
  }
}

function pickEntries(grad: Float32Array, count: number, pick: 'random' | 'largest', rng: Rng): number[] {
  const all = [...grad.keys()];
  if (all.length <= count) return all;
  if (pick === 'largest') return all.sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!)).slice(0, count);
  const out = new Set<number>();
  while (out.size < count) out.add(rng.int(all.length));
  return [...out];
}

/**
 * A forward graph for one op check: inputs as given, `build` makes y, loss = Σ y·w with a fixed random
 * w (so every entry of dL/dy differs). The op is built twice: once to learn y's shape for w.
 */
export async function opModel(
  inputs: Feeds, build: (b: GraphBuilder, x: Record<string, Value>) => Value, o: { opset?: number; seed?: number } = {},
): Promise<{ model: ModelProto; feeds: Feeds }> {
  const make = (weights?: HostTensor) => {
    const b = new GraphBuilder({ opset: o.opset });
    const x = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, b.input(k, t.dtype, t.dims)]));
    const y = build(b, x);
    if (!weights) {
      b.output(y, 'y', y.dtype ?? 'float32');
      return b.toModel();
    }
    const w = b.initializer('loss_weights', weights);
    b.output(b.reduceSum(b.mul(y, w), [...weights.dims.keys()], false), 'loss', 'float32');
    return b.toModel();
  };
  const probe = await session(make());
  const y = (await runSession(probe, inputs)).y!;
  await probe.release();
  return { model: make(randomTensor(y.dims, new Rng(o.seed ?? 99))), feeds: inputs };
}

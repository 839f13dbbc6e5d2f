// The sampler's step loop with its tensors kept where the UNet runs (on the GPU for GPU providers):
// the text embeddings and LoRA A/B are put there once (A/B again only when the schedule changes them),
// and the latent never leaves: the UNet's input scaling, classifier-free guidance and the scheduler's
// step run as small graphs beside the UNet session, in its thread and on its provider. Only what a
// preview asks for, and the final latent, is copied to the host.
import { GraphBuilder, type HostTensor } from '../onnx/index.ts';
import type { CompanionGraph } from '../session/ort.ts';
import type { Kept, KeepIn, PartSession } from './part-session.ts';
import { LinearLatent } from './schedulers/linear-latent.ts';
import type { Scheduler } from './schedulers/index.ts';

export interface ResidentRun {
  scheduler: Scheduler;
  /** The start latent [batch, channels, height, width]. */
  x: Float32Array;
  dims: readonly [number, number, number, number];
  /** Classifier-free guidance scale; 1: no unconditional rows. */
  cfg: number;
  /** The UNet's context, unconditional rows first when guided. */
  context: HostTensor;
  /** The UNet's LoRA feeds for call i; the same object as the call before means unchanged. */
  lora(i: number): Record<string, HostTensor>;
  noise(): Float32Array;
  signal?: AbortSignal;
  /** Called after each step with the latent copied to the host (only when given). */
  onStep?(index: number, latent: Float32Array): void;
}

/** The latent after all steps. `where`: 'device' keeps the tensors in the UNet's thread, 'host' copies each back (the plain path). */
export async function residentSteps(unet: PartSession, where: KeepIn, run: ResidentRun): Promise<Float32Array> {
  const { scheduler, dims } = run;
  const guided = run.cfg !== 1;
  const rows = guided ? 2 * dims[0] : dims[0];
  // Latents and predictions stay until the run ends: the scheduler's history may refer to any of them.
  const held: Kept[] = [];
  let lora: Record<string, Kept> = {};
  try {
    const { context } = await unet.put({ context: run.context }, where);
    held.push(context!);
    let x = await keep(unet.put({ x: f32(run.x, dims) }, where), 'x');
    let lastFeeds: Record<string, HostTensor> | undefined;
    for (let i = 0; i < scheduler.timesteps.length; i++) {
      if (run.signal?.aborted) throw run.signal.reason ?? new Error('aborted');
      const feeds = run.lora(i);
      if (feeds !== lastFeeds) {
        await unet.free(Object.values(lora));
        lora = await unet.put(feeds, where);
        lastFeeds = feeds;
      }
      const input = (await unet.runKept({ x, scale: f32([scheduler.inputScale(i)], [1]) }, where, inputGraph(rows / dims[0]))).y!;
      const out = (await unet.runKept({
        sample: input,
        timestep: f32(new Array(rows).fill(scheduler.timesteps[i]!), [rows]),
        context: context!,
        ...lora,
      }, where)).eps!;
      await unet.free([input]);
      let eps = out;
      if (guided) {
        eps = (await unet.runKept({ e: out, cfg: f32([run.cfg], [1]) }, where, guidanceGraph())).y!;
        await unet.free([out]);
      }
      held.push(eps);
      const next = scheduler.step(i, LinearLatent.of(x), LinearLatent.of(eps), () => LinearLatent.of(f32(run.noise(), dims)));
      x = await materialise(unet, where, next, held);
      if (run.onStep) run.onStep(i, (await unet.get(x)).data as Float32Array);
    }
    return (await unet.get(x)).data as Float32Array;
  } finally {
    await unet.free([...held, ...Object.values(lora)]);
  }

  async function keep(p: Promise<Record<string, Kept>>, name: string): Promise<Kept> {
    const t = (await p)[name]!;
    held.push(t);
    return t;
  }
}

/** The tensor a LinearLatent stands for: one of its terms as it is, or their weighted sum made beside the UNet. */
async function materialise(unet: PartSession, where: KeepIn, l: LinearLatent, held: Kept[]): Promise<Kept> {
  const terms = [...l.terms] as [Kept, number][];
  const [first] = terms;
  if (terms.length === 1 && first![1] === 1) return first![0];
  const feeds: Record<string, Kept> = { w: f32(terms.map(([, w]) => w), [terms.length]) };
  terms.forEach(([t], k) => { feeds[`x${k}`] = t; });
  const y = (await unet.runKept(feeds, where, sumGraph(terms.length))).y!;
  held.push(y);
  return y;
}

function f32(values: ArrayLike<number>, dims: readonly number[]): HostTensor {
  return { dtype: 'float32', dims: [...dims], data: values instanceof Float32Array ? values : Float32Array.from(values) };
}

const graphs = new Map<string, CompanionGraph>();
function graph(key: string, build: (b: GraphBuilder) => void): CompanionGraph {
  let g = graphs.get(key);
  if (!g) {
    const b = new GraphBuilder({ graphName: key });
    build(b);
    g = { key, model: b.toBytes() };
    graphs.set(key, g);
  }
  return g;
}

/** The UNet's input: the latent times the scheduler's input scale, once per row group (two with guidance). */
function inputGraph(repeat: number): CompanionGraph {
  return graph(`unet-input-${repeat}`, (b) => {
    const x = b.input('x', 'float32', ['b', 'c', 'h', 'w']);
    const scaled = b.mul(x, b.input('scale', 'float32', [1]));
    b.output(repeat === 1 ? scaled : b.tile(scaled, [repeat, 1, 1, 1]), 'y', 'float32');
  });
}

/** Classifier-free guidance: e[:n] + cfg * (e[n:] - e[:n]) for e of 2n rows (unconditional first). */
function guidanceGraph(): CompanionGraph {
  return graph('guidance', (b) => {
    const [u, c] = b.split(b.input('e', 'float32', ['rows', 'c', 'h', 'w']), 0, 2);
    b.output(b.add(u!, b.mul(b.input('cfg', 'float32', [1]), b.sub(c!, u!))), 'y', 'float32');
  });
}

/** Σ w[k] * x_k for `n` tensors of one shape. */
function sumGraph(n: number): CompanionGraph {
  return graph(`sum-${n}`, (b) => {
    const w = b.input('w', 'float32', [n]);
    const parts = Array.from({ length: n }, (_, k) => b.mul(b.input(`x${k}`, 'float32'), b.gather(w, k)));
    b.output(parts.reduce((a, p) => b.add(a, p)), 'y', 'float32');
  });
}

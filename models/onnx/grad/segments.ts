// Activation recompute (gradient checkpointing) by splitting a forward graph into segments, each run
// as its own sessions: a forward pass keeps only the values that cross segment boundaries, then each
// segment, last to first, recomputes its own forward inside a gradient graph whose "loss" is
// Σ output · upstream gradient (the chain rule across the cut). Only one segment's activations are
// alive at a time, for one more forward pass of compute.
import type { ModelProto, NodeProto, ValueInfoProto } from '../proto.ts';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../half.ts';
import type { HostTensor } from '../tensor.ts';
import { buildGradientGraph, gradName } from './backward.ts';
import { cutGraph, valueInfo } from './cut.ts';
import type { ValueInfos } from './value-infos.ts';

/** What a segment's sessions need from the caller's session factory. */
export interface SegmentRunner {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export interface SegmentOptions<R extends SegmentRunner = SegmentRunner> {
  loss: string;
  trainable: readonly string[];
  infos: ValueInfos;
  /** Segment of a node: consecutive nodes with the same key form one segment ('' joins the current one). */
  segmentOf(node: NodeProto): string;
  createSession(model: ModelProto): Promise<R>;
}

interface Segment<R extends SegmentRunner = SegmentRunner> {
  name: string;
  /** Graph inputs and earlier segments' values it reads (initializers excluded). */
  inputs: string[];
  /** Values it makes that later segments or the loss read. */
  outputs: string[];
  forward: R;
  backward: R;
  /** Its inputs that get a gradient (trainable, or an activation that depends on one). */
  gradInputs: string[];
  /** Its outputs that carry a gradient back (depend on a trainable and reach the loss). */
  gradOutputs: string[];
}

const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);
const up = (name: string) => `up.${name}`;

/** What a value between segments must tell: its shape. */
export interface Tensorish { readonly dims: readonly number[] }

/**
 * Where a segmented run keeps its values: host arrays (`run`), or tensors kept in the segments'
 * session thread (the trainer's resident loop). `add` makes a new tensor and leaves its operands;
 * float16 ones (mixed precision) are added in float32 and rounded back, as `addHost` does.
 */
export interface SegmentStore<T extends Tensorish, R> {
  run(runner: R, feeds: Record<string, T>): Promise<Record<string, T>>;
  put(tensor: HostTensor): Promise<T>;
  add(a: T, b: T, dtype: 'float32' | 'float16'): Promise<T>;
  free(tensors: readonly T[]): Promise<void>;
}

/** a + b for float32, or float16 raw bits summed in float32 and rounded to nearest even (Cast, Add, Cast in a graph). */
export function addHost(a: HostTensor, b: HostTensor): HostTensor {
  if (a.dtype === 'float16') {
    const [x, y] = [a.data as Uint16Array, b.data as Uint16Array];
    return { ...a, data: x.map((v, i) => float32ToFloat16Bits(Math.fround(float16BitsToFloat32(v) + float16BitsToFloat32(y[i]!)))) };
  }
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  return { ...a, data: x.map((v, i) => v + y[i]!) };
}

const HOST_STORE: SegmentStore<HostTensor, SegmentRunner> = {
  run: (runner, feeds) => runner.run(feeds),
  put: async (t) => t,
  add: async (a, b) => addHost(a, b),
  free: async () => {},
};

/** A tensor of `dims` filled with `value`, as float32 or float16 bits. */
function filled(dtype: string, dims: readonly number[], value: number): HostTensor {
  const size = dims.reduce((a, d) => a * d, 1);
  if (dtype === 'float16') return { dtype, dims: [...dims], data: new Uint16Array(size).fill(float32ToFloat16Bits(value)) };
  if (dtype !== 'float32') throw new Error(`recompute: a ${dtype} value between segments carries a gradient`);
  return { dtype, dims: [...dims], data: new Float32Array(size).fill(value) };
}

export class SegmentedGradients<R extends SegmentRunner = SegmentRunner> {
  private constructor(
    private readonly segments: Segment<R>[],
    private readonly loss: string,
    private readonly trainable: readonly string[],
    private readonly infos: ValueInfos,
  ) {}

  get size(): number {
    return this.segments.length;
  }

  static async create<R extends SegmentRunner>(model: ModelProto, o: SegmentOptions<R>): Promise<SegmentedGradients<R>> {
    const graph = model.graph ?? {};
    const nodes = graph.node ?? [];
    const info = (name: string) => {
      const i = o.infos.get(name);
      if (!i) throw new Error(`no probed shape for ${name}`);
      return i;
    };
    const varying = new Set(o.trainable);
    for (const n of nodes) {
      if ((n.input ?? []).some((i) => varying.has(i))) for (const out of n.output ?? []) if (out && FLOATS.has(info(out).dtype)) varying.add(out);
    }
    const needed = new Set([o.loss]);
    for (const n of [...nodes].reverse()) if ((n.output ?? []).some((x) => needed.has(x))) for (const i of n.input ?? []) if (i) needed.add(i);

    const segments: Segment<R>[] = [];
    try {
      for (const g of cutGraph(graph, o.segmentOf, new Set([o.loss]))) {
        const { inputs, outputs } = g;
        const base = (extraNodes: NodeProto[], extraInputs: ValueInfoProto[], outs: ValueInfoProto[]): ModelProto => ({
          ...model,
          graph: {
            ...graph,
            name: `${graph.name ?? 'graph'}:${g.name}`,
            node: [...g.nodes, ...extraNodes],
            initializer: g.initializers,
            input: [...inputs.map((v) => valueInfo(v, info(v))), ...extraInputs],
            output: outs,
            valueInfo: [],
          },
        });
        const forward = await o.createSession(base([], [], outputs.map((v) => valueInfo(v, info(v)))));
        const gradOutputs = outputs.filter((v) => varying.has(v) && needed.has(v));
        const gradInputs = inputs.filter((v) => varying.has(v) && needed.has(v));
        // The segment's loss: Σ ReduceSum(output · upstream). For the real loss, upstream is 1.
        const lossName = `segment.loss`;
        const extra: NodeProto[] = [];
        const infos = new Map(o.infos);
        const terms = gradOutputs.map((v, i) => {
          infos.set(up(v), info(v));
          infos.set(`segment.prod.${i}`, info(v));
          infos.set(`segment.sum.${i}`, { dtype: info(v).dtype, dims: [] });
          extra.push(
            { name: `segment.prod.${i}`, opType: 'Mul', input: [v, up(v)], output: [`segment.prod.${i}`] },
            { name: `segment.sum.${i}`, opType: 'ReduceSum', input: [`segment.prod.${i}`], output: [`segment.sum.${i}`], attribute: [{ name: 'keepdims', type: 2, i: 0 }] },
          );
          return `segment.sum.${i}`;
        });
        segments.push({ name: g.name, inputs, outputs, forward, backward: forward, gradInputs, gradOutputs });
        if (!gradInputs.length || !terms.length) continue;
        extra.push({ name: lossName, opType: 'Sum', input: terms, output: [lossName] });
        infos.set(lossName, { dtype: info(gradOutputs[0]!).dtype, dims: [] });
        const withLoss = base(extra, gradOutputs.map((v) => valueInfo(up(v), info(v))), [valueInfo(lossName, infos.get(lossName)!)]);
        const training = buildGradientGraph(withLoss, { loss: lossName, trainable: gradInputs, infos });
        segments[segments.length - 1]!.backward = await o.createSession(training);
      }
    } catch (e) {
      for (const s of segments) await SegmentedGradients.releaseSegment(s);
      throw e;
    }
    return new SegmentedGradients<R>(segments, o.loss, o.trainable, o.infos);
  }

  /** The loss and `grad.<trainable>` for these feeds, as the one-graph `buildGradientGraph` gives them. */
  async run(feeds: Readonly<Record<string, HostTensor>>): Promise<{ loss: number; grads: Record<string, HostTensor> }> {
    const { loss, grads } = await this.runWith(feeds, HOST_STORE as SegmentStore<HostTensor, R>);
    return { loss: (loss.data as Float32Array)[0]!, grads };
  }

  /**
   * `run` with the values kept where `store` keeps them (a session thread's resident tensors, so that
   * nothing crosses to the host between segments). The feeds stay the caller's; what is returned is
   * the caller's to free; everything else made is freed.
   */
  async runWith<T extends Tensorish>(feeds: Readonly<Record<string, T>>, store: SegmentStore<T, R>): Promise<{ loss: T; grads: Record<string, T> }> {
    const values = new Map<string, T>(Object.entries(feeds));
    const upstream = new Map<string, T>();
    const made = new Set<T>();
    const drop = async (ts: readonly (T | undefined)[]) => {
      const gone = ts.filter((t): t is T => t !== undefined && made.delete(t));
      if (gone.length) await store.free(gone);
    };
    const keep = (t: T) => {
      made.add(t);
      return t;
    };
    const put = async (name: string, dims: readonly number[], fill: number) => keep(await store.put(filled(this.infos.get(name)!.dtype, dims, fill)));
    const take = (names: readonly string[]) => Object.fromEntries(names.map((n) => {
      const v = values.get(n);
      if (!v) throw new Error(`segment input ${n} was not computed`);
      return [n, v];
    }));
    try {
      for (const s of this.segments) {
        const out = await store.run(s.forward, take(s.inputs));
        for (const v of s.outputs) values.set(v, keep(out[v]!));
      }
      for (const s of [...this.segments].reverse()) {
        if (!s.gradInputs.length) continue;
        const ups: Record<string, T> = {};
        for (const v of s.gradOutputs) ups[up(v)] = upstream.get(v) ?? (await put(v, values.get(v)!.dims, v === this.loss ? 1 : 0));
        const out = await store.run(s.backward, { ...take(s.inputs), ...ups });
        for (const t of Object.values(out)) keep(t);
        for (const v of s.gradInputs) {
          const g = out[gradName(v)]!;
          const have = upstream.get(v);
          upstream.set(v, have ? keep(await store.add(have, g, this.infos.get(v)!.dtype as 'float32' | 'float16')) : g);
          if (have) await drop([have, g]);
        }
        await drop([...Object.entries(out).filter(([n]) => !s.gradInputs.some((v) => gradName(v) === n)).map(([, t]) => t), ...Object.values(ups)]);
        // Its outputs' values and gradients are spent.
        for (const v of s.outputs) {
          upstream.delete(v);
          if (!(v in feeds) && v !== this.loss) {
            await drop([values.get(v)]);
            values.delete(v);
          }
        }
      }
      const grads: Record<string, T> = {};
      for (const t of this.trainable) grads[gradName(t)] = upstream.get(t) ?? (await put(t, this.infos.get(t)!.dims, 0));
      const loss = values.get(this.loss)!;
      for (const t of [loss, ...Object.values(grads)]) made.delete(t);
      return { loss, grads };
    } finally {
      await store.free([...made]);
    }
  }

  async release(): Promise<void> {
    for (const s of this.segments) await SegmentedGradients.releaseSegment(s);
  }

  private static async releaseSegment(s: Segment<SegmentRunner>): Promise<void> {
    await s.forward.release();
    if (s.backward !== s.forward) await s.backward.release();
  }
}

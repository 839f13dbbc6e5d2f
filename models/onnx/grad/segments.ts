// Activation recompute (gradient checkpointing) by splitting a forward graph into segments, each run
// as its own sessions: a forward pass keeps only the values that cross segment boundaries, then each
// segment, last to first, recomputes its own forward inside a gradient graph whose "loss" is
// Σ output · upstream gradient (the chain rule across the cut). Only one segment's activations are
// alive at a time, for one more forward pass of compute.
import type { ModelProto, NodeProto, ValueInfoProto } from '../proto.ts';
import type { HostTensor } from '../tensor.ts';
import { buildGradientGraph, gradName } from './backward.ts';
import { cutGraph, valueInfo } from './cut.ts';
import type { ValueInfos } from './value-infos.ts';

/** What a segment's sessions need from the caller's session factory. */
export interface SegmentRunner {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export interface SegmentOptions {
  loss: string;
  trainable: readonly string[];
  infos: ValueInfos;
  /** Segment of a node: consecutive nodes with the same key form one segment ('' joins the current one). */
  segmentOf(node: NodeProto): string;
  createSession(model: ModelProto): Promise<SegmentRunner>;
}

interface Segment {
  name: string;
  /** Graph inputs and earlier segments' values it reads (initializers excluded). */
  inputs: string[];
  /** Values it makes that later segments or the loss read. */
  outputs: string[];
  forward: SegmentRunner;
  backward: SegmentRunner;
  /** Its inputs that get a gradient (trainable, or an activation that depends on one). */
  gradInputs: string[];
  /** Its outputs that carry a gradient back (depend on a trainable and reach the loss). */
  gradOutputs: string[];
}

const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);
const up = (name: string) => `up.${name}`;

export class SegmentedGradients {
  private constructor(
    private readonly segments: Segment[],
    private readonly loss: string,
    private readonly trainable: readonly string[],
    private readonly infos: ValueInfos,
  ) {}

  get size(): number {
    return this.segments.length;
  }

  static async create(model: ModelProto, o: SegmentOptions): Promise<SegmentedGradients> {
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

    const segments: Segment[] = [];
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
    return new SegmentedGradients(segments, o.loss, o.trainable, o.infos);
  }

  /** The loss and `grad.<trainable>` for these feeds, as the one-graph `buildGradientGraph` gives them. */
  async run(feeds: Readonly<Record<string, HostTensor>>): Promise<{ loss: number; grads: Record<string, HostTensor> }> {
    const values = new Map<string, HostTensor>(Object.entries(feeds));
    const take = (names: readonly string[]) => Object.fromEntries(names.map((n) => {
      const v = values.get(n);
      if (!v) throw new Error(`segment input ${n} was not computed`);
      return [n, v];
    }));
    for (const s of this.segments) {
      const out = await s.forward.run(take(s.inputs));
      for (const v of s.outputs) values.set(v, out[v]!);
    }
    const loss = (values.get(this.loss)!.data as Float32Array)[0];

    const upstream = new Map<string, Float32Array>();
    const add = (name: string, g: Float32Array) => {
      const have = upstream.get(name);
      if (!have) upstream.set(name, g);
      else for (let i = 0; i < g.length; i++) have[i]! += g[i]!;
    };
    const one = (name: string) => Float32Array.of(...new Array(values.get(name)!.data.length).fill(1));
    for (const s of [...this.segments].reverse()) {
      if (!s.gradInputs.length) continue;
      const ups = Object.fromEntries(s.gradOutputs.map((v) => {
        const g = v === this.loss ? one(v) : upstream.get(v) ?? new Float32Array(values.get(v)!.data.length);
        return [up(v), { dtype: 'float32', dims: values.get(v)!.dims, data: g } as HostTensor];
      }));
      const out = await s.backward.run({ ...take(s.inputs), ...ups });
      for (const v of s.gradInputs) add(v, out[gradName(v)]!.data as Float32Array);
      // Its outputs' values and gradients are spent.
      for (const v of s.outputs) {
        upstream.delete(v);
        if (!(v in feeds) && v !== this.loss) values.delete(v);
      }
    }
    const grads: Record<string, HostTensor> = {};
    for (const t of this.trainable) {
      const dims = this.infos.get(t)!.dims;
      grads[gradName(t)] = { dtype: 'float32', dims, data: upstream.get(t) ?? new Float32Array(dims.reduce((a, d) => a * d, 1)) };
    }
    return { loss: loss!, grads };
  }

  async release(): Promise<void> {
    for (const s of this.segments) await SegmentedGradients.releaseSegment(s);
  }

  private static async releaseSegment(s: Segment): Promise<void> {
    await s.forward.release();
    if (s.backward !== s.forward) await s.backward.release();
  }
}

// The trainer's state kept where the training graph runs (on the GPU for GPU providers): LoRA A/B, the
// B the graph is fed (B·alpha/rank) and AdamW's moments are put in the gradient session's thread once;
// each step's gradients stay there, and one graph beside the session (gradient scaling, the overflow
// check, AdamW, keeping the old tensors on overflow) makes the next step's. Per step only three numbers
// come to the host (loss, gradient norm, finite); params and moments when `download` asks.
import { createHash } from 'node:crypto';
import { GraphBuilder, type HostTensor } from '../onnx/index.ts';
import type { Value } from '../onnx/graph-core.ts';
import { addAdamW, adamwNames, gradName, type AdamWConfig } from '../onnx/grad/index.ts';
import type { CompanionGraph } from '../session/ort.ts';
import type { Kept, PartSession } from '../sd/part-session.ts';
import { loraInputNames } from '../sd/lora-targets.ts';
import type { LoraParams } from './lora-params.ts';

export interface ResidentOptions {
  /** alpha / rank: the graph is fed B times it, so B's gradient is scaled by it too. */
  branchScale: number;
  /** Gradients come scaled by the loss scale: unscale them, and keep the old tensors when one is not finite. */
  mixedPrecision: boolean;
  adamw: Partial<AdamWConfig>;
}

export interface ResidentReport {
  /** The graph's loss (times the loss scale in mixed precision). */
  loss: number;
  /** Before clipping; NaN or inf when the gradients overflowed. */
  gradNorm: number;
  /** Every gradient and the loss finite (always true without mixed precision: nothing is checked). */
  finite: boolean;
}

const fed = (b: string) => `fed.${b}`;
const f32 = (x: number): HostTensor => ({ dtype: 'float32', dims: [], data: Float32Array.of(x) });

export class ResidentLora {
  private constructor(
    private readonly session: PartSession,
    private readonly params: LoraParams,
    private readonly moments: Map<string, Float32Array>,
    private readonly graph: CompanionGraph,
    /** Every tensor held: params by input name, moments by `m.`/`v.` name, fed B by `fed.` name. */
    private held: Record<string, Kept>,
    /** The graph's LoRA inputs nobody trains (rank-0 branches), put once. */
    private readonly fixed: Record<string, Kept>,
  ) {}

  /**
   * Puts `params` and `moments` (host values, e.g. just loaded from a checkpoint) into `session`'s
   * thread, with `untrained` (the graph's other LoRA inputs) beside them.
   */
  static async create(
    session: PartSession, params: LoraParams, moments: Map<string, Float32Array>, untrained: Record<string, HostTensor>, o: ResidentOptions,
  ): Promise<ResidentLora> {
    const graph = updateGraph(params, o);
    const r = new ResidentLora(session, params, moments, graph, {}, await session.put(untrained, 'device'));
    try {
      await r.upload();
    } catch (e) {
      await r.release();
      throw e;
    }
    return r;
  }

  /** The graph's LoRA feeds: A and B·scale of the trained targets, the fixed ones of the rest. */
  get feeds(): Record<string, Kept> {
    const out: Record<string, Kept> = { ...this.fixed };
    for (const m of this.params.modules) {
      const n = loraInputNames(m.target);
      out[n.a] = this.held[n.a]!;
      out[n.b] = this.held[fed(n.b)]!;
    }
    return out;
  }

  /**
   * One update from the training graph's outputs (`loss` and `grad.<input>`, kept; freed here) with
   * AdamW step `update` (1 for the first) at `lr`; `lossScale` is what the loss was multiplied by.
   * When the gradients are not finite (mixed precision) the tensors stay as they were.
   */
  async step(out: Record<string, Kept>, update: number, lr: number, lossScale: number): Promise<ResidentReport> {
    const feeds: Record<string, Kept> = { ...this.held, loss: out.loss!, step: f32(update), lr: f32(lr), inverse_scale: f32(1 / lossScale) };
    for (const name of this.trainable()) feeds[gradName(name)] = out[gradName(name)]!;
    let next: Record<string, Kept>;
    try {
      next = await this.session.runKept(feeds, 'device', this.graph);
    } finally {
      await this.session.free(Object.values(out));
    }
    const report = (await this.session.get(next.report!)).data as Float32Array;
    const old = this.held;
    this.held = Object.fromEntries(Object.keys(old).map((k) => [k, next[`new.${k}`]!]));
    await this.session.free([...Object.values(old), next.report!]);
    return { loss: report[0]!, gradNorm: report[1]!, finite: report[2] === 1 };
  }

  /** Copies the params and moments into the host arrays they were created from (checkpoints, previews, the end). */
  async download(): Promise<LoraParams> {
    const take = async (name: string, into: Float32Array) => into.set((await this.session.get(this.held[name]!)).data as Float32Array);
    for (const m of this.params.modules) {
      const n = loraInputNames(m.target);
      await take(n.a, m.a);
      await take(n.b, m.b);
    }
    for (const [name, data] of this.moments) await take(name, data);
    return this.params;
  }

  async release(): Promise<void> {
    await this.session.free([...Object.values(this.held), ...Object.values(this.fixed)]);
    this.held = {};
  }

  private trainable(): string[] {
    return this.params.modules.flatMap((m) => Object.values(loraInputNames(m.target)));
  }

  private async upload(): Promise<void> {
    const scale = Math.fround(this.params.alpha / this.params.rank);
    const host: Record<string, HostTensor> = {};
    for (const m of this.params.modules) {
      const n = loraInputNames(m.target);
      host[n.a] = { dtype: 'float32', dims: [m.target.in, this.params.rank], data: m.a };
      host[n.b] = { dtype: 'float32', dims: [this.params.rank, m.target.out], data: m.b };
      // As loraBranches scales it, so the first step is fed what the host loop feeds.
      host[fed(n.b)] = { ...host[n.b]!, data: m.b.map((v) => v * scale) };
      for (const k of ['m', 'v'] as const) host[adamwNames(n.a)[k]] = { ...host[n.a]!, data: this.moments.get(adamwNames(n.a)[k])! };
      for (const k of ['m', 'v'] as const) host[adamwNames(n.b)[k]] = { ...host[n.b]!, data: this.moments.get(adamwNames(n.b)[k])! };
    }
    this.held = await this.session.put(host, 'device');
  }
}

/**
 * The update as one graph. Inputs: what ResidentLora holds (each param, `m.`/`v.` moments, `fed.<B>`),
 * `grad.<param>` as the training graph gives them (B's for the fed B·scale), `loss`, scalars `step`,
 * `lr`, `inverse_scale`. Outputs: `new.<input>` for each held tensor, and `report` [loss, norm, finite].
 * The arithmetic is the host loop's, in its order (B's gradient times the scale, then the unscale, in
 * float32), so both give the same bits.
 */
function updateGraph(params: LoraParams, o: ResidentOptions): CompanionGraph {
  const b = new GraphBuilder({ graphName: 'resident-lora-update' });
  const step = b.input('step', 'float32', []);
  const lr = b.input('lr', 'float32', []);
  const inverse = b.input('inverse_scale', 'float32', []);
  const loss = b.input('loss', 'float32', []);
  const scale = b.constant(Math.fround(o.branchScale));
  const tensors = params.modules.flatMap((m) => {
    const n = loraInputNames(m.target);
    return [{ name: n.a, dims: [m.target.in, params.rank], isB: false }, { name: n.b, dims: [params.rank, m.target.out], isB: true }];
  }).map(({ name, dims, isB }) => {
    const a = adamwNames(name);
    const raw = b.input(a.grad, 'float32', dims);
    const g = isB ? b.mul(raw, scale) : raw;
    return { name, isB, dims, p: b.input(name, 'float32', dims), g: o.mixedPrecision ? b.mul(g, inverse) : g, m: b.input(a.m, 'float32', dims), v: b.input(a.v, 'float32', dims) };
  });
  const fedB = new Map(tensors.filter((t) => t.isB).map((t) => [t.name, b.input(fed(t.name), 'float32', t.dims)]));
  const { norm, updated } = addAdamW(b, tensors, step, lr, o.adamw);
  // x·0 is 0 for finite x and NaN otherwise: one sum says whether any gradient (or the loss) overflowed.
  const finite: Value | undefined = o.mixedPrecision
    ? b.op('Equal', [b.op('Sum', [b.mul(loss, 0), ...tensors.map((t) => b.op('ReduceSum', [b.mul(t.g, 0)], { keepdims: 0 }))]), b.constant(0)], {}, { dtype: 'bool' })
    : undefined;
  const keep = (next: Value, old: Value) => (finite ? b.where(finite, next, old) : next);
  updated.forEach((u, i) => {
    const t = tensors[i]!;
    const a = adamwNames(u.name);
    const p = keep(u.p, t.p);
    b.output(p, `new.${u.name}`, 'float32');
    b.output(keep(u.m, t.m), `new.${a.m}`, 'float32');
    b.output(keep(u.v, t.v), `new.${a.v}`, 'float32');
    if (t.isB) b.output(finite ? b.where(finite, b.mul(p, scale), fedB.get(u.name)!) : b.mul(p, scale), `new.${fed(u.name)}`, 'float32');
  });
  const flag = finite ? b.cast(finite, 'float32') : b.constant(1);
  b.output(b.concat([loss, norm, flag].map((x) => b.unsqueeze(x, [0])), 0), 'report', 'float32');
  const model = b.toBytes();
  return { key: `resident-lora-update:${createHash('sha256').update(model).digest('hex').slice(0, 16)}`, model };
}

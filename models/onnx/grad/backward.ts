// Reverse-mode differentiation of an ONNX graph: the forward graph plus, in one model, the nodes that
// compute d(loss)/d(input) for the trainable inputs. Runs as one session: feeds in, loss and grads out.
import { GraphBuilder } from '../builder.ts';
import type { Value } from '../graph-core.ts';
import type { ModelProto, NodeProto, ValueInfoProto } from '../proto.ts';
import { onnxDataType } from '../dtype.ts';
import { nodeAttrs } from './attrs.ts';
import { constantInts } from './constants.ts';
import { GRAD_RULES } from './rules/index.ts';
import type { GradContext, RuleTable } from './rule.ts';
import type { ValueInfos } from './value-infos.ts';

export interface GradientOptions {
  /** Name of the scalar (one-element) loss value. */
  loss: string;
  /** Graph inputs to differentiate against; each gets an output `grad.<name>`. */
  trainable: readonly string[];
  /** Dtype and concrete shape of every value (probeShapes); the training graph is fixed to these shapes. */
  infos: ValueInfos;
  /** Rules to use instead of / besides the built-in table. */
  rules?: RuleTable;
}

export const gradName = (input: string) => `grad.${input}`;

const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/**
 * The training graph: outputs the loss and `grad.<input>` for every trainable input. Only nodes on a
 * path from a trainable input to the loss are differentiated; an op there without a rule is an error.
 * Inputs are declared with the probed shapes, so feeds of another shape fail instead of misbehaving.
 */
export function buildGradientGraph(model: ModelProto, options: GradientOptions): ModelProto {
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const { infos, loss } = options;
  const rules = { ...GRAD_RULES, ...options.rules };
  const info = (name: string) => {
    const i = infos.get(name);
    if (!i) throw new Error(`no probed shape for ${name}`);
    return i;
  };
  const inputNames = new Set((graph.input ?? []).map((i) => i.name!));
  for (const t of options.trainable) {
    if (!inputNames.has(t)) throw new Error(`trainable ${t} is not a graph input`);
    if (!FLOATS.has(info(t).dtype)) throw new Error(`trainable ${t} is ${info(t).dtype}, not a float`);
  }
  const lossInfo = info(loss);
  if (lossInfo.dims.reduce((a, d) => a * d, 1) !== 1) throw new Error(`loss ${loss} has shape [${lossInfo.dims}], not one element`);

  // Values that depend on a trainable input (forward sweep) and values the loss depends on (backward).
  const varying = new Set(options.trainable);
  for (const n of nodes) {
    if (!(n.input ?? []).some((i) => varying.has(i))) continue;
    for (const o of n.output ?? []) if (o && FLOATS.has(info(o).dtype)) varying.add(o);
  }
  const needed = new Set([loss]);
  for (const n of [...nodes].reverse()) {
    if ((n.output ?? []).some((o) => needed.has(o))) for (const i of n.input ?? []) if (i) needed.add(i);
  }
  const onPath = (v: string) => varying.has(v) && needed.has(v);
  const active = nodes.filter((n) => (n.output ?? []).some(onPath));
  const missing = active.filter((n) => !rules[ruleKey(n)]);
  if (missing.length) {
    const list = missing.slice(0, 10).map((n) => `${ruleKey(n)} (node ${n.name})`).join(', ');
    throw new Error(`no gradient rule for ${list}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''} on the path from the trainable inputs to ${loss}`);
  }

  const taken = [...inputNames, ...(graph.initializer ?? []).map((t) => t.name!), ...nodes.flatMap((n) => [n.name ?? '', ...(n.output ?? [])])];
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1;
  const b = new GraphBuilder({ opset, reservedNames: taken.filter(Boolean) });
  const forward = (name: string): Value => ({ name, dtype: info(name).dtype, shape: info(name).dims });
  const contributions = new Map<string, Value[]>();
  const total = (name: string): Value | undefined => {
    const parts = contributions.get(name);
    if (!parts?.length) return undefined;
    const sum = parts.length === 1 ? parts[0]! : b.op('Sum', parts);
    return { ...sum, dtype: info(name).dtype, shape: info(name).dims };
  };

  b.scope('grad', () => {
    contributions.set(loss, [b.constant(1, lossInfo.dtype, lossInfo.dims)]);
    for (const node of [...active].reverse()) {
      const outs = (node.output ?? []).map((o) => (onPath(o) ? total(o) : undefined));
      if (outs.every((g) => !g)) continue;
      const ctx = gradContext(b, node, opset, forward, outs, varying, graph.initializer ?? [], nodes);
      const grads = rules[ruleKey(node)]!(ctx);
      (node.input ?? []).forEach((input, i) => {
        if (!ctx.needs(i)) return;
        const g = grads[i];
        if (!g) throw new Error(`gradient rule for ${ruleKey(node)} gave no gradient for input ${i} (node ${node.name})`);
        contributions.set(input, [...(contributions.get(input) ?? []), g]);
      });
    }
    for (const t of options.trainable) {
      b.output(total(t) ?? b.constantOfShape(info(t).dims, 0, info(t).dtype), gradName(t), info(t).dtype);
    }
  });

  const back = b.toModel();
  const lossOutput: ValueInfoProto = valueInfo(loss, lossInfo.dtype, lossInfo.dims);
  const outputs = [lossOutput, ...(back.graph!.output ?? [])];
  const allNodes = prune([...nodes, ...(back.graph!.node ?? [])], outputs.map((o) => o.name!));
  const used = new Set(allNodes.flatMap((n) => n.input ?? []));
  return {
    ...model,
    opsetImport: mergeOpsets(model.opsetImport ?? [], back.opsetImport ?? []),
    graph: {
      ...graph,
      node: allNodes,
      initializer: [...(graph.initializer ?? []), ...(back.graph!.initializer ?? [])].filter((t) => used.has(t.name!)),
      input: (graph.input ?? []).map((i) => (infos.has(i.name!) ? valueInfo(i.name!, info(i.name!).dtype, info(i.name!).dims) : i)),
      output: outputs,
      valueInfo: [],
    },
  };
}

function ruleKey(n: NodeProto): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType!;
}

function gradContext(
  b: GraphBuilder, node: NodeProto, opset: number, forward: (name: string) => Value,
  outGrads: (Value | undefined)[], varying: ReadonlySet<string>,
  initializers: NonNullable<NonNullable<ModelProto['graph']>['initializer']>, nodes: readonly NodeProto[],
): GradContext {
  const inputs = (node.input ?? []).map((i) => (i ? forward(i) : undefined));
  const outputs = (node.output ?? []).map((o) => forward(o));
  const shape = (v: Value | undefined): number[] => {
    if (!v?.shape) throw new Error(`node ${node.name}: shape of ${v?.name ?? 'an omitted input'} is unknown`);
    return v.shape as number[];
  };
  const sumTo = (g: Value, from: readonly number[], to: readonly number[]): Value => {
    const lead = from.length - to.length;
    const axes = from.flatMap((d, i) => (i < lead || (to[i - lead] === 1 && d !== 1) ? [i] : []));
    let out = axes.length ? b.reduceSum(g, axes, true) : g;
    if (lead > 0 || axes.length) out = b.reshape(out, [...to]);
    return out;
  };
  const zeros = (like: Value) => b.constantOfShape(shape(like), 0, like.dtype);
  return {
    b, node, opset, inputs, outputs,
    attrs: nodeAttrs(node),
    needs: (i) => !!inputs[i] && varying.has(inputs[i]!.name),
    hasGrad: (i) => !!outGrads[i],
    grad: (i = 0) => outGrads[i] ?? zeros(outputs[i]!),
    shape,
    constInts: (i) => (inputs[i] ? constantInts(inputs[i]!.name, initializers, nodes) : undefined),
    reduceTo: (g, i) => sumTo(g, shape(outputs[0]), shape(inputs[i])),
    sumTo,
    zeros,
  };
}

/** Keeps the nodes that the outputs depend on (nodes are in topological order). */
function prune(nodes: readonly NodeProto[], outputs: readonly string[]): NodeProto[] {
  const live = new Set(outputs);
  const kept: NodeProto[] = [];
  for (const n of [...nodes].reverse()) {
    if (!(n.output ?? []).some((o) => live.has(o))) continue;
    kept.push(n);
    for (const i of n.input ?? []) if (i) live.add(i);
  }
  return kept.reverse();
}

function mergeOpsets<T extends { domain?: string; version?: number }>(a: readonly T[], b: readonly T[]): T[] {
  const byDomain = new Map<string, T>();
  for (const o of [...b, ...a]) byDomain.set(o.domain ?? '', o);
  return [...byDomain.values()];
}

function valueInfo(name: string, dtype: Parameters<typeof onnxDataType>[0], dims: readonly number[]): ValueInfoProto {
  return { name, type: { tensorType: { elemType: onnxDataType(dtype), shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

// A forward graph cut into runs of consecutive nodes (segments), each with the values it reads from
// outside (graph inputs, earlier segments) and the values it hands on (read by a later segment, or kept).
// Used by the segment-by-segment shape probe and by recompute (segments.ts).
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from '../proto.ts';
import { onnxDataType } from '../dtype.ts';
import type { TensorInfo } from './value-infos.ts';

export interface GraphCut {
  name: string;
  nodes: NodeProto[];
  /** Graph inputs and earlier segments' values it reads (initializers excluded). */
  inputs: string[];
  /** Values it makes that later segments read or that are to be kept (`keep`). */
  outputs: string[];
  /** The initializers it reads. */
  initializers: TensorProto[];
}

/**
 * Consecutive nodes with the same `segmentOf` key form one cut ('' joins the current one); without
 * `segmentOf` the whole graph is one.
 */
export function cutGraph(graph: GraphProto, segmentOf: ((n: NodeProto) => string) | undefined, keep: ReadonlySet<string>): GraphCut[] {
  const groups: { name: string; nodes: NodeProto[] }[] = [];
  for (const n of graph.node ?? []) {
    const key = segmentOf?.(n) ?? '';
    const last = groups.at(-1);
    if (last && (key === '' || key === last.name)) last.nodes.push(n);
    else groups.push({ name: key, nodes: [n] });
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t] as const));
  const producedIn = new Map<string, number>();
  const lastRead = new Map<string, number>();
  groups.forEach((g, k) => g.nodes.forEach((n) => {
    for (const out of n.output ?? []) if (out) producedIn.set(out, k);
    for (const i of n.input ?? []) if (i) lastRead.set(i, k);
  }));
  return groups.map((g, k) => {
    const reads = [...new Set(g.nodes.flatMap((n) => (n.input ?? []).filter(Boolean)))];
    const made = [...new Set(g.nodes.flatMap((n) => (n.output ?? []).filter(Boolean)))];
    return {
      name: g.name,
      nodes: g.nodes,
      inputs: reads.filter((v) => producedIn.get(v) !== k && !initializers.has(v)),
      outputs: made.filter((v) => keep.has(v) || (lastRead.get(v) ?? -1) > k),
      initializers: reads.filter((v) => initializers.has(v)).map((v) => initializers.get(v)!),
    };
  });
}

/** A value's declaration with its concrete dtype and shape. */
export function valueInfo(name: string, info: TensorInfo): ValueInfoProto {
  return { name, type: { tensorType: { elemType: onnxDataType(info.dtype), shape: { dim: info.dims.map((d) => ({ dimValue: d })) } } } };
}

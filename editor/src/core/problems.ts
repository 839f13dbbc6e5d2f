import type { Problem } from '../../../protocol/index.ts';

/** Validation problems sorted onto what the user can see: a param field, an input handle, or the node. */
export interface NodeProblems {
  general: string[];
  params: Record<string, string[]>;
  inputs: Record<string, string[]>;
}

export interface GroupedProblems {
  /** Problems about the graph as a whole (no node). */
  graph: string[];
  nodes: Record<string, NodeProblems>;
}

export function groupProblems(problems: readonly Problem[]): GroupedProblems {
  const out: GroupedProblems = { graph: [], nodes: {} };
  for (const p of problems) {
    if (!p.node) {
      out.graph.push(p.field ? `${p.field}: ${p.message}` : p.message);
      continue;
    }
    const n = (out.nodes[p.node] ??= { general: [], params: {}, inputs: {} });
    const [head, name] = (p.field ?? '').split('.');
    if ((head === 'params' || head === 'inputs') && name) {
      const bucket = head === 'params' ? n.params : n.inputs;
      (bucket[name] ??= []).push(p.message);
    } else n.general.push(p.field ? `${p.field}: ${p.message}` : p.message);
  }
  return out;
}

export function problemCount(g: GroupedProblems): number {
  let n = g.graph.length;
  for (const p of Object.values(g.nodes)) {
    n += p.general.length;
    for (const list of [...Object.values(p.params), ...Object.values(p.inputs)]) n += list.length;
  }
  return n;
}

/**
 * Problems about params or inputs the node does not show (a param this node type does not have, an
 * input of an older version): they are listed on the node itself so none goes unseen.
 */
export function unplacedProblems(p: NodeProblems, paramKeys: readonly string[], inputNames: readonly string[]): string[] {
  const out = [...p.general];
  for (const [key, list] of Object.entries(p.params)) if (!paramKeys.includes(key)) out.push(...list.map((m) => `params.${key}: ${m}`));
  for (const [key, list] of Object.entries(p.inputs)) if (!inputNames.includes(key)) out.push(...list.map((m) => `inputs.${key}: ${m}`));
  return out;
}

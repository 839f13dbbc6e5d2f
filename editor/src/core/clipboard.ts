import type { Draft } from 'immer';
import { GRAPH_FORMAT, GRAPH_VERSION, type Graph, type Level } from '../../../protocol/index.ts';
import { freshId, nodeIds, type XY } from './graph-edit.ts';

/**
 * Copy/paste as graph documents: the clipboard text is a valid graph file, so a selection pasted into a
 * chat can be pasted into another editor, and a whole graph file pasted onto the canvas merges in.
 */
export function copyFragment(graph: Level & { name: string }, ids: Iterable<string>): Graph {
  const keep = new Set(ids);
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    name: `${graph.name} (selection)`,
    nodes: structuredClone(graph.nodes.filter((n) => keep.has(n.id))),
    edges: structuredClone(graph.edges.filter((e) => keep.has(e.from.node) && keep.has(e.to.node))),
  };
}

/** The top-left corner of a fragment's nodes. */
export function topLeft(fragment: Graph): XY {
  return {
    x: Math.min(...fragment.nodes.map((n) => n.position?.x ?? 0)),
    y: Math.min(...fragment.nodes.map((n) => n.position?.y ?? 0)),
  };
}

/**
 * Adds a fragment's nodes under fresh ids (wires between them follow), its top-left corner at `at`.
 * Returns the new ids in fragment order.
 */
export function pasteFragment(g: Draft<Level>, fragment: Graph, at: XY): string[] {
  const taken = nodeIds(g as Level);
  const rename = new Map<string, string>();
  for (const n of fragment.nodes) {
    const id = freshId(n.id, taken);
    taken.add(id);
    rename.set(n.id, id);
  }
  const origin = topLeft(fragment);
  const dx = at.x - origin.x;
  const dy = at.y - origin.y;
  fragment.nodes.forEach((n, i) => {
    g.nodes.push({
      ...structuredClone(n),
      id: rename.get(n.id)!,
      position: { x: Math.round((n.position?.x ?? i * 40) + dx), y: Math.round((n.position?.y ?? i * 40) + dy) },
    });
  });
  for (const e of fragment.edges) {
    const from = rename.get(e.from.node);
    const to = rename.get(e.to.node);
    if (from && to) g.edges.push({ from: { node: from, port: e.from.port }, to: { node: to, port: e.to.port } });
  }
  return fragment.nodes.map((n) => rename.get(n.id)!);
}

import type { Draft } from 'immer';
import { COMPONENT_TYPE, type Component, GRAPH_FORMAT, GRAPH_VERSION, type Graph, type Level, nestedComponents } from '../../../protocol/index.ts';
import { freshId, nodeIds, type XY } from './graph-edit.ts';

/**
 * Copy/paste as graph documents: the clipboard text is a valid graph file, so a selection pasted into a
 * chat can be pasted into another editor, and a whole graph file pasted onto the canvas merges in. A
 * copied component instance brings its definition (and those it nests), so it pastes into any graph.
 */
export function copyFragment(graph: Level & { name: string; components?: Graph['components'] }, ids: Iterable<string>): Graph {
  const keep = new Set(ids);
  const nodes = structuredClone(graph.nodes.filter((n) => keep.has(n.id)));
  const components = usedComponents(graph.components ?? {}, nodes);
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    name: `${graph.name} (selection)`,
    nodes,
    edges: structuredClone(graph.edges.filter((e) => keep.has(e.from.node) && keep.has(e.to.node))),
    ...(Object.keys(components).length ? { components: structuredClone(components) } : {}),
  };
}

/** The definitions that instances among `nodes` use, with the ones they nest. */
function usedComponents(all: Record<string, Component>, nodes: Level['nodes']): Record<string, Component> {
  return nestedComponents(all, { name: '', nodes, edges: [], inputs: {}, outputs: {}, params: {} });
}

/** The top-left corner of a fragment's nodes. */
export function topLeft(fragment: Graph): XY {
  return {
    x: Math.min(...fragment.nodes.map((n) => n.position?.x ?? 0)),
    y: Math.min(...fragment.nodes.map((n) => n.position?.y ?? 0)),
  };
}

/**
 * Adds a fragment's component definitions to a document's: one the document holds unchanged is reused,
 * one whose id it uses for something else joins under a fresh id. Returns the id each one has in the
 * document (only for the definitions the fragment's nodes use).
 */
export function mergeComponents(doc: Draft<Graph>, fragment: Graph): Map<string, string> {
  const incoming = usedComponents(fragment.components ?? {}, fragment.nodes);
  const ids = new Map<string, string>();
  const taken = new Set(Object.keys(doc.components ?? {}));
  // Nested definitions first, so a user is compared (and stored) with the ids its nested ones got.
  const uses = (def: Component) => def.nodes.filter((n) => n.type === COMPONENT_TYPE && n.component && Object.hasOwn(incoming, n.component)).map((n) => n.component!);
  const pending = Object.entries(incoming);
  while (pending.length) {
    const i = Math.max(0, pending.findIndex(([, d]) => uses(d).every((u) => ids.has(u))));
    const [[id, incomingDef]] = pending.splice(i, 1) as [[string, Component]];
    const def = repoint(incomingDef, ids);
    const existing = Object.hasOwn(doc.components ?? {}, id) ? doc.components![id] : undefined;
    if (existing && JSON.stringify(existing) === JSON.stringify(def)) {
      ids.set(id, id);
      continue;
    }
    const to = existing || taken.has(id) ? freshId(id, taken) : id;
    taken.add(to);
    ids.set(id, to);
    doc.components ??= {};
    doc.components[to] = structuredClone(def);
  }
  return ids;
}

/** A definition with its inner instances pointed at the ids their definitions got. */
function repoint(def: Component, ids: Map<string, string>): Component {
  return { ...def, nodes: def.nodes.map((n) => (n.type === COMPONENT_TYPE && n.component && ids.has(n.component) ? { ...n, component: ids.get(n.component)! } : n)) };
}

/**
 * Adds a fragment's nodes under fresh ids (wires between them follow), its top-left corner at `at`.
 * `components` maps the fragment's component ids to the document's (see mergeComponents).
 * Returns the new ids in fragment order.
 */
export function pasteFragment(g: Draft<Level>, fragment: Graph, at: XY, components: ReadonlyMap<string, string> = new Map()): string[] {
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
    const node = { ...structuredClone(n), id: rename.get(n.id)!, position: { x: Math.round((n.position?.x ?? i * 40) + dx), y: Math.round((n.position?.y ?? i * 40) + dy) } };
    if (node.type === COMPONENT_TYPE && node.component && components.has(node.component)) node.component = components.get(node.component)!;
    g.nodes.push(node);
  });
  for (const e of fragment.edges) {
    const from = rename.get(e.from.node);
    const to = rename.get(e.to.node);
    if (from && to) g.edges.push({ from: { node: from, port: e.from.port }, to: { node: to, port: e.to.port } });
  }
  return fragment.nodes.map((n) => rename.get(n.id)!);
}

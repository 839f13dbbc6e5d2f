import type { Draft } from 'immer';
import { at, type Edge, type Graph, type Level, type NodeInstance } from '../../../protocol/index.ts';
import type { PortRef } from './connections.ts';

/**
 * Edits of the graph document as immer recipes: the store runs them through History so each is one
 * undo step. The document is the graph format itself, so export is a copy, not a translation.
 */
type G = Draft<Level>;

export interface XY {
  x: number;
  y: number;
}

/** Unambiguous id of an edge (node ids and port names may contain any separator we could pick). */
export function edgeKey(e: { from: PortRef; to: PortRef }): string {
  return JSON.stringify([e.from.node, e.from.port, e.to.node, e.to.port]);
}

/**
 * A readable id not yet used, from a node type or an id: "image/resize" or "resize-4" give "resize",
 * then "resize-2", "resize-3", ...
 */
export function freshId(hint: string, taken: ReadonlySet<string>): string {
  const base =
    (hint.split('/').pop() ?? '')
      .replace(/-\d+$/, '')
      .replace(/[^A-Za-z0-9_.:-]/g, '-')
      .slice(0, 80) || 'node';
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

export function nodeIds(g: Level): Set<string> {
  return new Set(g.nodes.map((n) => n.id));
}

export function addNode(g: G, node: NodeInstance): void {
  g.nodes.push(node);
}

/** Removes nodes and edges; edges touching a removed node go too. */
export function removeElements(g: G, nodes: Iterable<string>, edges: Iterable<string> = []): void {
  const dropNodes = new Set(nodes);
  const dropEdges = new Set(edges);
  const keepNode = (n: { id: string }) => !dropNodes.has(n.id);
  if (dropNodes.size) g.nodes = g.nodes.filter(keepNode);
  const keepEdge = (e: Edge) => !dropEdges.has(edgeKey(e)) && !dropNodes.has(e.from.node) && !dropNodes.has(e.to.node);
  if (g.edges.some((e) => !keepEdge(e))) g.edges = g.edges.filter(keepEdge);
}

/** Adds a wire; whatever fed that input before is unplugged (one input takes one edge). */
export function connect(g: G, from: PortRef, to: PortRef): void {
  const existing = g.edges.findIndex((e) => e.to.node === to.node && e.to.port === to.port);
  const edge = { from: { node: from.node, port: from.port }, to: { node: to.node, port: to.port } };
  if (existing >= 0) {
    if (edgeKey(at(g.edges, existing)) === edgeKey(edge)) return;
    g.edges.splice(existing, 1, edge);
  } else g.edges.push(edge);
}

/** Sets a param; `undefined` removes it so the default applies. */
export function setParam(g: G, nodeId: string, key: string, value: unknown): void {
  const node = g.nodes.find((n) => n.id === nodeId);
  if (!node) return;
  if (value === undefined) delete node.params[key];
  else if (!sameValue(node.params[key], value)) node.params[key] = value;
}

export function setTitle(g: G, nodeId: string, title: string): void {
  const node = g.nodes.find((n) => n.id === nodeId);
  if (!node) return;
  const t = title.trim();
  if (t) node.title = t;
  else delete node.title;
}

export function moveNodes(g: G, positions: ReadonlyMap<string, XY>): void {
  for (const node of g.nodes) {
    const p = positions.get(node.id);
    if (!p) continue;
    const x = Math.round(p.x);
    const y = Math.round(p.y);
    if (node.position?.x !== x || node.position?.y !== y) node.position = { x, y };
  }
}

export function rename(g: Draft<Graph>, name: string): void {
  g.name = name.trim() || 'untitled';
}

/** Replaces the whole document (opening a file), as one undoable edit. */
export function replaceGraph(g: Draft<Graph>, next: Graph): void {
  const draft = g as Graph;
  draft.name = next.name;
  draft.nodes = structuredClone(next.nodes);
  draft.edges = structuredClone(next.edges);
  if (next.components) draft.components = structuredClone(next.components);
  else delete draft.components;
  if (next.meta) draft.meta = structuredClone(next.meta);
  else delete draft.meta;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

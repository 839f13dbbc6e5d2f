import type { Edge, Graph, Level } from '../../../protocol/index.ts';
import { catalogType } from './component-catalog.ts';
import type { CatalogIndex } from './catalog-index.ts';

export interface PortRef {
  node: string;
  port: string;
}

export type ConnectionCheck =
  | { ok: true; widened: boolean; /** The edge this one replaces (one input takes one edge). */ replaces?: Edge }
  | { ok: false; reason: string };

/**
 * Whether a wire from an output to an input may exist, and why not. The editor refuses what the server
 * would reject: unknown ports, incompatible types (by the catalog's rule, see `CatalogIndex.compatibility`), cycles.
 */
export function checkConnection(graph: Level, catalog: CatalogIndex, from: PortRef, to: PortRef): ConnectionCheck {
  if (from.node === to.node) return { ok: false, reason: 'A node cannot feed itself' };
  const fromNode = graph.nodes.find((n) => n.id === from.node);
  const toNode = graph.nodes.find((n) => n.id === to.node);
  if (!fromNode || !toNode) return { ok: false, reason: 'Both ends must be nodes of this graph' };
  const out = catalog.port(catalogType(fromNode), 'out', from.port);
  const inp = catalog.port(catalogType(toNode), 'in', to.port);
  if (!out) return { ok: false, reason: `${fromNode.type} has no output "${from.port}"` };
  if (!inp) return { ok: false, reason: `${toNode.type} has no input "${to.port}"` };
  const compat = catalog.compatibility(out.type, inp.type);
  if (!compat.ok) return { ok: false, reason: compat.reason };
  const path = pathBetween(graph, to.node, from.node);
  if (path) return { ok: false, reason: `That would make a cycle: ${[from.node, ...path].join(' → ')}` };
  const replaces = graph.edges.find((e) => e.to.node === to.node && e.to.port === to.port);
  return { ok: true, widened: compat.widened, replaces };
}

/** Node ids on a path of edges from `start` to `goal` (both included), or undefined. */
function pathBetween(graph: Level, start: string, goal: string): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const e of graph.edges) next.set(e.from.node, [...(next.get(e.from.node) ?? []), e.to.node]);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  const seen = new Set(queue);
  for (const id of queue) {
    // for...of also visits what the loop pushes
    if (id === goal) {
      const path = [id];
      for (let p = cameFrom.get(id); p !== undefined; p = cameFrom.get(p)) path.unshift(p);
      return path;
    }
    for (const n of next.get(id) ?? []) {
      if (seen.has(n)) continue;
      seen.add(n);
      cameFrom.set(n, id);
      queue.push(n);
    }
  }
  return undefined;
}

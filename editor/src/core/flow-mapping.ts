import type { EdgeBase, NodeBase } from '@xyflow/system';
import type { CatalogNode, Edge, NodeInstance } from '../../../protocol/index.ts';
import type { CatalogIndex } from './catalog-index.ts';
import { catalogType } from './component-catalog.ts';
import type { EditorSnapshot } from './editor-store.ts';
import { edgeKey } from './graph-edit.ts';

/**
 * `def` is the node's catalog entry (a component's changes when its definition does, so the instance
 * redraws); `wired` the ports wires use, for a node whose type is missing (drawn with those handles).
 */
export type FlowNode = NodeBase<{ node: NodeInstance; def?: CatalogNode; wired?: { inputs: string[]; outputs: string[] } }, 'graph'>;
export type FlowEdge = EdgeBase<{ portType: string }> & { style: { stroke: string } };

/**
 * Document -> React Flow elements. Objects are reused while their inputs are unchanged (immer keeps
 * untouched nodes identical), so React Flow skips them and a drag re-renders only what moved.
 *
 * A measured size is written onto the node object React Flow already has instead of making a new one:
 * React Flow measured it itself (so nothing needs re-adopting), but parts like the minimap read sizes
 * from the object we gave it. New objects for 300 nodes after each measurement would make it adopt and
 * re-render every node a second time. These objects are ours (not the immutable document), so the
 * in-place update stays contained here.
 */
export class FlowMapper {
  private nodeCache = new WeakMap<NodeInstance, { selected: boolean; def?: CatalogNode; wires?: string; flow: FlowNode }>();
  private edgeCache = new WeakMap<Edge, { selected: boolean; colour: string; flow: FlowEdge }>();
  private lastNodes: FlowNode[] = [];
  private lastEdges: FlowEdge[] = [];

  constructor(private readonly catalog: CatalogIndex) {}

  /** The same array as last time when no element changed: React Flow then skips its per-array work. */
  nodes(s: EditorSnapshot): FlowNode[] {
    let missing: Map<string, { inputs: string[]; outputs: string[] }> | undefined;
    const next = s.level.nodes.map((node, i) => {
      const selected = s.selectedNodes.has(node.id);
      const hit = this.nodeCache.get(node);
      const measured = s.measured.get(node.id);
      const def = this.catalog.node(catalogType(node));
      // A node of a missing type keeps its wires: it gets a handle for each port a wire names.
      const wired = def ? undefined : (missing ??= wiredPorts(s.level.edges)).get(node.id);
      const wires = wired && JSON.stringify(wired);
      if (hit && hit.selected === selected && hit.def === def && hit.wires === wires) {
        if (measured && hit.flow.measured !== measured) hit.flow.measured = measured;
        return hit.flow;
      }
      const flow: FlowNode = {
        id: node.id,
        type: 'graph',
        // Nodes without a position (hand-written files) get laid out on open; this is a fallback.
        position: node.position ?? { x: i * 40, y: i * 40 },
        data: { node, def, ...(wired ? { wired } : {}) },
        selected,
        ...(measured ? { measured } : {}),
      };
      this.nodeCache.set(node, { selected, def, wires, flow });
      return flow;
    });
    return (this.lastNodes = sameItems(next, this.lastNodes) ? this.lastNodes : next);
  }

  edges(s: EditorSnapshot): FlowEdge[] {
    const types = new Map(s.level.nodes.map((n) => [n.id, catalogType(n)]));
    const next = s.level.edges.map((e) => {
      const id = edgeKey(e);
      const selected = s.selectedEdges.has(id);
      const portType = this.catalog.port(types.get(e.from.node) ?? '', 'out', e.from.port)?.type ?? 'unknown';
      const colour = this.catalog.colour(portType);
      const hit = this.edgeCache.get(e);
      if (hit && hit.selected === selected && hit.colour === colour) return hit.flow;
      const flow: FlowEdge = {
        id,
        source: e.from.node,
        sourceHandle: e.from.port,
        target: e.to.node,
        targetHandle: e.to.port,
        selected,
        data: { portType },
        style: { stroke: colour },
      };
      this.edgeCache.set(e, { selected, colour, flow });
      return flow;
    });
    return (this.lastEdges = sameItems(next, this.lastEdges) ? this.lastEdges : next);
  }
}

function wiredPorts(edges: readonly Edge[]): Map<string, { inputs: string[]; outputs: string[] }> {
  const out = new Map<string, { inputs: string[]; outputs: string[] }>();
  const at = (id: string) => out.get(id) ?? out.set(id, { inputs: [], outputs: [] }).get(id)!;
  for (const e of edges) {
    const into = at(e.to.node).inputs;
    if (!into.includes(e.to.port)) into.push(e.to.port);
    const from = at(e.from.node).outputs;
    if (!from.includes(e.from.port)) from.push(e.from.port);
  }
  return out;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

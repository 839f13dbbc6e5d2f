import { COMPONENT_TYPE, type Component, type Edge, type Graph, type NodeInstance, type PortRef } from './graph-format.ts';
import type { Problem } from './events.ts';

/** Components inside components deeper than this are refused (a document could nest them without end). */
export const MAX_DEPTH = 16;
/**
 * What a document may expand to: the limits of a flat document. A few kilobytes of nested instances
 * could otherwise stand for more nodes or wires than memory holds.
 */
export const MAX_FLAT_NODES = 10_000;
export const MAX_FLAT_EDGES = 50_000;

class TooLarge extends Error {}

/** The plain node graph a document with components stands for. Node ids are paths: `portrait/preprocess/detect`. */
export interface FlatGraph {
  nodes: NodeInstance[];
  edges: Edge[];
  /** Component instance path -> the flat nodes its outputs come from (a run's target may name an instance). */
  instances: Map<string, string[]>;
  problems: Problem[];
}

/** How one scope's (the document's or a component's) local ports resolve to flat ones. */
interface Scope {
  resolveOut(ref: PortRef, where: Where): PortRef | undefined;
  resolveIn(ref: PortRef, where: Where): PortRef[];
}

/** Who to name when a port cannot be resolved: the node the edge or mapping belongs to, and the field. */
interface Where {
  node: string;
  field: string;
}

/**
 * Expands every component instance into its inner nodes, recursively, so validation, caching and the
 * executor see the same plain graph as before components existed: an inner node's cache key does not
 * depend on its id, so a component graph and its flat twin share cached results. Instance params are
 * written into the inner params they map to; edges into and out of an instance are rewired to the inner
 * ports its inputs and outputs name. Problems name the path of the node they concern.
 */
export function flatten(graph: Graph): FlatGraph {
  const out: FlatGraph = { nodes: [], edges: [], instances: new Map(), problems: [] };
  try {
    expand(graph.components ?? {}, graph.nodes, graph.edges, '', [], out);
  } catch (e) {
    if (!(e instanceof TooLarge)) throw e;
    return { nodes: [], edges: [], instances: new Map(), problems: [{ field: 'components', message: e.message }] };
  }
  return out;
}

function limit(count: number, max: number, what: string): void {
  if (count > max) throw new TooLarge(`Its components expand to more than ${max.toLocaleString('en')} ${what}, the most a graph may have`);
}

function expand(
  components: Record<string, Component>,
  nodes: NodeInstance[],
  edges: Edge[],
  prefix: string,
  stack: string[],
  out: FlatGraph,
): Scope {
  const inner = new Map<string, { def: Component; scope: Scope }>();
  const problem = (node: string, field: string, message: string) => out.problems.push({ node, field, message });

  for (const node of nodes) {
    const path = prefix + node.id;
    if (node.type !== COMPONENT_TYPE) {
      out.nodes.push({ ...node, id: path });
      limit(out.nodes.length, MAX_FLAT_NODES, 'nodes');
      continue;
    }
    const def = node.component === undefined ? undefined : own(components, node.component);
    if (!def) {
      problem(path, 'component', node.component === undefined ? 'A node of type "component" needs a "component" id' : `Unknown component "${node.component}"`);
      continue;
    }
    if (stack.includes(node.component!)) {
      problem(path, 'component', `Component "${node.component}" contains itself (${[...stack, node.component].join(' -> ')})`);
      continue;
    }
    if (stack.length >= MAX_DEPTH) {
      problem(path, 'component', `Components are nested more than ${MAX_DEPTH} deep`);
      continue;
    }
    const scope = expand(components, withParams(def, node, path, problem), def.edges, `${path}/`, [...stack, node.component!], out);
    inner.set(node.id, { def, scope });
    out.instances.set(
      path,
      Object.entries(def.outputs).flatMap(([port, o]) => scope.resolveOut(o.from, { node: path, field: `outputs.${port}` })?.node ?? []),
    );
  }

  const scope: Scope = {
    resolveOut(ref, where) {
      const c = inner.get(ref.node);
      if (!c) return { node: prefix + ref.node, port: ref.port };
      const o = own(c.def.outputs, ref.port);
      if (!o) {
        problem(where.node, where.field, `Component "${c.def.name}" (${prefix + ref.node}) has no output "${ref.port}"`);
        return undefined;
      }
      return c.scope.resolveOut(o.from, { node: prefix + ref.node, field: `outputs.${ref.port}` });
    },
    resolveIn(ref, where) {
      const c = inner.get(ref.node);
      if (!c) return [{ node: prefix + ref.node, port: ref.port }];
      const i = own(c.def.inputs, ref.port);
      if (!i) {
        problem(where.node, where.field, `Component "${c.def.name}" (${prefix + ref.node}) has no input "${ref.port}"`);
        return [];
      }
      const targets = i.targets.flatMap((t) => c.scope.resolveIn(t, { node: prefix + ref.node, field: `inputs.${ref.port}` }));
      limit(targets.length, MAX_FLAT_EDGES, 'wires');
      return targets;
    },
  };

  edges.forEach((e) => {
    const where = { node: prefix + e.to.node, field: `inputs.${e.to.port}` };
    const from = scope.resolveOut(e.from, where);
    if (!from) return;
    for (const to of scope.resolveIn(e.to, where)) out.edges.push({ from, to });
    limit(out.edges.length, MAX_FLAT_EDGES, 'wires');
  });
  return scope;
}

/** A record's own entry: a port or component named "constructor" must not find Object's. */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The definition's nodes with the instance's param values written into the inner params they map to. */
function withParams(def: Component, instance: NodeInstance, path: string, problem: (node: string, field: string, message: string) => void): NodeInstance[] {
  const nodes = def.nodes.map((n) => ({ ...n, params: { ...n.params } }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const [name, m] of Object.entries(def.params)) {
    if (!byId.has(m.node)) problem(path, `params.${name}`, `Component "${def.name}" maps param "${name}" to a node "${m.node}" it does not have`);
  }
  for (const [name, value] of Object.entries(instance.params)) {
    const m = own(def.params, name);
    if (!m) {
      problem(path, `params.${name}`, `Unknown param "${name}" for component "${def.name}"`);
      continue;
    }
    // Defined, not assigned: a param named "__proto__" must stay a key (and be reported unknown), not a prototype.
    const target = byId.get(m.node);
    if (target) Object.defineProperty(target.params, m.param, { value, enumerable: true, writable: true, configurable: true });
  }
  return nodes;
}

import { z } from 'zod';
import { EdgeSchema, GRAPH_FORMAT, GRAPH_VERSION, GraphFormatError, GraphSchema, migrate, NodeInstanceSchema, type Edge, type Graph, type NodeInstance, compatibility, type PortType, type Problem } from '../protocol/index.ts';
import type { AnyNodeDefinition } from './node.ts';
import type { NodeRegistry } from './registry.ts';
import { at, flatten } from '../protocol/index.ts';

export interface Connection {
  from: { node: string; port: string; type: PortType };
  to: { node: string; port: string; type: PortType };
}

/** A graph that passed validation, with what the executor needs precomputed. */
export interface CheckedGraph {
  /** The document as written (components and all); the other fields are of its flat node graph, ids being paths. */
  graph: Graph;
  defs: Map<string, AnyNodeDefinition>;
  /** Params after defaults were applied. */
  params: Map<string, Record<string, unknown>>;
  /** node id -> input port -> the connection feeding it */
  incoming: Map<string, Map<string, Connection>>;
  outgoing: Map<string, Connection[]>;
  /** All node ids in a dependency order. */
  order: string[];
  /** The flat nodes a run computes when it was asked for some (component instances stand for the nodes behind their outputs). */
  targets?: string[];
  /** What was done on the way, for the run's log: node versions upgraded. */
  notes: string[];
}

export type CheckResult = { ok: true; checked: CheckedGraph } | { ok: false; problems: Problem[] };

/**
 * A further check of one node whose params passed their schema, given by the caller: checks that need
 * the machine (files in the data folder) stay out of this module, which stays pure.
 */
export type NodeCheck = (nodeId: string, def: AnyNodeDefinition, params: Record<string, unknown>) => Problem[];

export interface CheckOptions {
  checkNode?: NodeCheck;
  /** Node ids a run is asked to compute ("run up to here"): each must be a node of the graph. */
  targets?: string[];
}

export class GraphValidationError extends Error {
  override name = 'GraphValidationError';
  constructor(readonly problems: Problem[]) {
    super(`The graph has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map(formatProblem).join('\n')}`);
  }
}

export function formatProblem(p: Problem): string {
  const where = [p.node && `node "${p.node}"`, p.field && `field "${p.field}"`].filter(Boolean).join(', ');
  return where ? `- ${where}: ${p.message}` : `- ${p.message}`;
}

/** Checks a graph document against the registry and reports every problem found, not just the first. */
export function checkGraph(doc: unknown, registry: NodeRegistry, options: CheckOptions = {}): CheckResult {
  let migrated: Record<string, unknown>;
  try {
    migrated = migrate(doc);
  } catch (e) {
    if (e instanceof GraphFormatError) return { ok: false, problems: [{ message: e.message }] };
    throw e;
  }
  const { graph, problems } = parseStructure(migrated);
  if (!graph) return { ok: false, problems };

  const flat = flatten(graph);
  problems.push(...flat.problems);
  const defs = new Map<string, AnyNodeDefinition>();
  const params = new Map<string, Record<string, unknown>>();
  const notes: string[] = [];
  /** Node types (or versions of them) this build lacks, with the nodes that use them. */
  const missing = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const node of flat.nodes) {
    if (seen.has(node.id)) {
      problems.push({ node: node.id, field: 'id', message: `Duplicate node id "${node.id}"` });
      continue;
    }
    seen.add(node.id);
    const known = registry.get(node.type);
    const def = known && (node.version ?? known.version) <= known.version ? known : undefined;
    if (!def) {
      const what = known ? `${node.type} version ${node.version}` : node.type;
      missing.set(what, [...(missing.get(what) ?? []), node.id]);
      problems.push(
        known
          ? { node: node.id, field: 'version', message: `Made with version ${node.version} of ${node.type}; this build has version ${known.version}: please update FaceChain Studio` }
          : { node: node.id, field: 'type', message: `Unknown node type "${node.type}"` },
      );
      continue;
    }
    defs.set(node.id, def);
    const upgraded = upgradeParams(def, node, notes);
    const result = checkParams(def, upgraded);
    if (!result.ok) {
      problems.push(...result.problems.map((p) => ({ node: node.id, ...p })));
      continue;
    }
    params.set(node.id, result.value);
    problems.push(...(options.checkNode?.(node.id, def, result.value) ?? []));
  }
  if (missing.size) {
    const list = [...missing].map(([type, nodes]) => `${type} (${nodes.join(', ')})`).join('; ');
    problems.unshift({ message: `This build lacks ${missing.size === 1 ? 'a node type' : `${missing.size} node types`}: ${list}. The nodes are kept as they are; it cannot run until they exist.` });
  }

  const incoming = new Map<string, Map<string, Connection>>();
  const outgoing = new Map<string, Connection[]>();
  // Every edge between existing nodes, refused or doubled ones too: cycles are looked for on these, so a
  // doubled input does not hide a cycle through it.
  const links: Edge[] = [];
  /** "node\0port" of inputs some edge goes into, refused or not: those are not reported as unconnected. */
  const wired = new Set<string>();
  flat.edges.forEach((edge, i) => {
    if (seen.has(edge.to.node)) wired.add(`${edge.to.node}\0${edge.to.port}`);
    if (seen.has(edge.from.node) && seen.has(edge.to.node)) links.push(edge);
    const c = checkEdge(edge, i, defs, seen, problems);
    if (!c) return;
    const into = incoming.get(c.to.node) ?? new Map<string, Connection>();
    if (into.has(c.to.port)) {
      problems.push({
        node: c.to.node,
        field: `inputs.${c.to.port}`,
        message: `Input "${c.to.port}" has more than one incoming edge`,
      });
      return;
    }
    into.set(c.to.port, c);
    incoming.set(c.to.node, into);
    outgoing.set(c.from.node, [...(outgoing.get(c.from.node) ?? []), c]);
  });

  for (const [id, def] of defs) {
    for (const [port, spec] of Object.entries(def.inputs)) {
      if (!spec.optional && !wired.has(`${id}\0${port}`)) {
        problems.push({ node: id, field: `inputs.${port}`, message: `Required input "${port}" (${spec.type}) is not connected` });
      }
    }
  }

  const targets = options.targets?.flatMap((id, i) => {
    if (seen.has(id)) return [id];
    const behind = flat.instances.get(id);
    if (behind) return behind;
    problems.push({ field: `targets[${i}]`, message: `The run targets a node "${id}" that is not in the graph` });
    return [];
  });

  const { order, cycles } = orderNodes([...seen], links);
  const into = groupBy(links, (e) => e.to.node);
  for (const cycle of cycles) {
    const members = new Set(cycle);
    // Named once, shortened: a cycle through 10,000 nodes must not make 10,000 messages of 10,000 ids each.
    const named = cycle.length <= 12 ? cycle.join(' -> ') : `${cycle.slice(0, 10).join(' -> ')} -> ... (${cycle.length} nodes)`;
    for (const id of cycle) {
      // Name the input through which the cycle reaches this node.
      const port = into.get(id)?.find((e) => members.has(e.from.node))?.to.port;
      problems.push({ node: id, field: port && `inputs.${port}`, message: `Node is part of a cycle: ${named}` });
    }
  }

  if (problems.length) return { ok: false, problems };
  return { ok: true, checked: { graph, defs, params, incoming, outgoing, order, targets, notes } };
}

/** Like checkGraph, but throws GraphValidationError listing every problem. */
export function assertGraph(doc: unknown, registry: NodeRegistry, options?: CheckOptions): CheckedGraph {
  const result = checkGraph(doc, registry, options);
  if (!result.ok) throw new GraphValidationError(result.problems);
  return result.checked;
}

/**
 * A node's params brought up to its type's version: the type's `migrate` when it has one. Each upgrade is
 * noted for the run's log.
 */
function upgradeParams(def: AnyNodeDefinition, node: NodeInstance, notes: string[]): Record<string, unknown> {
  if (node.version === undefined || node.version >= def.version) return node.params;
  notes.push(`Node "${node.id}": ${def.type} upgraded from version ${node.version} to ${def.version}${def.migrate ? '' : ' (params unchanged)'}`);
  return def.migrate ? def.migrate(node.params, node.version) : node.params;
}

type ParamResult = { ok: true; value: Record<string, unknown> } | { ok: false; problems: Omit<Problem, 'node'>[] };

/** Validates params against a node's schema; unknown params are rejected, not ignored. */
export function checkParams(def: AnyNodeDefinition, raw: Record<string, unknown>): ParamResult {
  const known = def.params.shape as Record<string, unknown>;
  // Own keys only: `constructor` or `toString` must not pass as known through the prototype chain.
  const problems: Omit<Problem, 'node'>[] = Object.keys(raw)
    .filter((k) => !Object.hasOwn(known, k))
    .map((k) => ({ field: `params.${k}`, message: `Unknown param "${k}" for ${def.type}` }));
  const parsed = def.params.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ field: ['params', ...issue.path.map(String)].join('.'), message: issue.message });
    }
  }
  if (problems.length || !parsed.success) return { ok: false, problems };
  return { ok: true, value: parsed.data as Record<string, unknown> };
}

function checkEdge(
  edge: Edge,
  i: number,
  defs: Map<string, AnyNodeDefinition>,
  ids: Set<string>,
  problems: Problem[],
): Connection | undefined {
  const { from, to } = edge;
  const fromDef = defs.get(from.node);
  const toDef = defs.get(to.node);
  let ok = true;
  if (!ids.has(from.node)) {
    problems.push({ node: to.node, field: `edges[${i}].from.node`, message: `Edge comes from a node "${from.node}" that does not exist` });
    ok = false;
  }
  if (!ids.has(to.node)) {
    problems.push({ node: from.node, field: `edges[${i}].to.node`, message: `Edge goes to a node "${to.node}" that does not exist` });
    ok = false;
  }
  if (!ok || !fromDef || !toDef) return undefined;
  const out = fromDef.outputs[from.port];
  const inp = toDef.inputs[to.port];
  if (!out) {
    problems.push({ node: from.node, field: `outputs.${from.port}`, message: `${fromDef.type} has no output "${from.port}" (edge ${i})` });
    ok = false;
  }
  if (!inp) {
    problems.push({ node: to.node, field: `inputs.${to.port}`, message: `${toDef.type} has no input "${to.port}" (edge ${i})` });
    ok = false;
  }
  if (!ok || !out || !inp) return undefined;
  const compat = compatibility(out.type, inp.type);
  if (!compat.ok) {
    problems.push({ node: to.node, field: `inputs.${to.port}`, message: `Port type mismatch from ${from.node}.${from.port}: ${compat.reason}` });
    return undefined;
  }
  return { from: { ...from, type: out.type }, to: { ...to, type: inp.type } };
}

/** Items by key, in their order (Map.groupBy, which Node 20 lacks). */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** Topological order (Kahn) plus the strongly connected components that make cycles (Tarjan). */
function orderNodes(ids: string[], edges: Edge[]): { order: string[]; cycles: string[][] } {
  const next = groupBy(edges, (e) => e.from.node);
  const succ = (id: string) => (next.get(id) ?? []).map((e) => e.to.node);
  const indeg = new Map(ids.map((id) => [id, 0]));
  for (const id of ids) for (const s of succ(id)) indeg.set(s, (indeg.get(s) ?? 0) + 1);
  const queue = ids.filter((id) => indeg.get(id) === 0);
  const order: string[] = [];
  for (const id of queue) {
    // for...of also visits what the loop pushes
    order.push(id);
    for (const s of succ(id)) {
      const d = (indeg.get(s) ?? 0) - 1;
      indeg.set(s, d);
      if (d === 0) queue.push(s);
    }
  }
  if (order.length === ids.length) return { order, cycles: [] };
  return { order, cycles: stronglyConnected(ids, succ).filter((c) => c.length > 1 || succ(at(c, 0)).includes(at(c, 0))) };
}

/** Tarjan's algorithm with its own stack of frames: a graph of 10,000 nodes in one chain must not overflow the call stack. */
function stronglyConnected(ids: string[], succ: (id: string) => string[]): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const open = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    return { v, next: succ(v), i: 0 };
  };
  for (const root of ids) {
    if (index.has(root)) continue;
    const frames = [open(root)];
    for (let f = frames.at(-1); f; f = frames.at(-1)) {
      const w = f.next[f.i];
      if (w !== undefined) {
        f.i++;
        if (!index.has(w)) frames.push(open(w));
        else if (onStack.has(w)) low.set(f.v, Math.min(low.get(f.v)!, index.get(w)!));
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(f.v)!));
      if (low.get(f.v) === index.get(f.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== f.v);
        out.push(comp.reverse());
      }
    }
  }
  return out;
}

/** The document's top level but its lists, which are checked entry by entry. */
const GraphHeadSchema = GraphSchema.omit({ nodes: true, edges: true }).strip();
const GraphListsSchema = z.object({
  nodes: z.array(z.unknown()).max(10_000),
  edges: z.array(z.unknown()).max(50_000).default([]),
});

const pathOf = (issue: z.core.$ZodIssue) => issue.path.map(String).join('.') || undefined;
const rawId = (raw: unknown, key: 'id' | 'node') => {
  const v = (raw as Record<string, unknown> | null)?.[key];
  return typeof v === 'string' ? v : undefined;
};

/**
 * A node's params as they came, in an object without a prototype: zod's record parse drops a
 * `__proto__` key, and the unknown-param check must still see it.
 */
function rawParams(raw: unknown): Record<string, unknown> {
  const params = (raw as { params?: unknown } | null)?.params;
  const out = Object.create(null) as Record<string, unknown>;
  if (params && typeof params === 'object' && !Array.isArray(params)) {
    for (const key of Object.keys(params)) out[key] = (params as Record<string, unknown>)[key];
  }
  return out;
}

/**
 * Parses the document node by node and edge by edge, so one malformed entry does not hide the problems
 * of the rest: malformed entries are reported and left out of the graph that the later checks see. A
 * problem of the top level (an unknown key, a bad name) is reported beside those of the nodes.
 */
function parseStructure(doc: Record<string, unknown>): { graph?: Graph; problems: Problem[] } {
  const problems: Problem[] = Object.keys(doc)
    .filter((key) => !Object.hasOwn(GraphSchema.shape, key))
    .map((key) => ({ field: key, message: `Unknown top-level key "${key}"` }));
  const head = GraphHeadSchema.safeParse(doc);
  if (!head.success) problems.push(...head.error.issues.map((issue) => ({ field: pathOf(issue), message: issue.message })));
  const lists = GraphListsSchema.safeParse(doc);
  if (!lists.success) return { problems: [...problems, ...lists.error.issues.map((issue) => ({ field: pathOf(issue), message: issue.message }))] };
  const nodes: NodeInstance[] = [];
  const malformed = new Set<string>();
  lists.data.nodes.forEach((raw, i) => {
    const parsed = NodeInstanceSchema.safeParse(raw);
    if (parsed.success) return void nodes.push({ ...parsed.data, params: rawParams(raw) });
    const node = rawId(raw, 'id') ?? `nodes[${i}]`;
    malformed.add(node);
    for (const issue of parsed.error.issues) problems.push({ node, field: pathOf(issue), message: issue.message });
  });
  const edges: Edge[] = [];
  lists.data.edges.forEach((raw, i) => {
    const end = raw as { from?: unknown; to?: unknown } | null;
    const [from, to] = [rawId(end?.from, 'node'), rawId(end?.to, 'node')];
    // Edges of a malformed node are left out unreported: that node's own problem says what is wrong.
    if ((from && malformed.has(from)) || (to && malformed.has(to))) return;
    const parsed = EdgeSchema.safeParse(raw);
    if (parsed.success) return void edges.push(parsed.data);
    for (const issue of parsed.error.issues) {
      problems.push({ node: to ?? from, field: [`edges[${i}]`, ...issue.path.map(String)].join('.'), message: issue.message });
    }
  });
  const top = head.success ? head.data : { format: GRAPH_FORMAT, version: GRAPH_VERSION, name: 'untitled' } as const;
  return { graph: { ...top, nodes, edges }, problems };
}

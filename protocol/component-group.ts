import { z } from 'zod';
import { COMPONENT_TYPE, type Component, type Edge, type Graph, type NodeInstance, type PortRef } from './graph-format.ts';

/** The port and param names of a node type (the catalog's, or the registry's): unconnected ports are exposed, params checked. */
export type PortNames = (type: string) => { inputs: string[]; outputs: string[]; params: string[] } | undefined;

/** The nodes and edges of one level: the document's top level or a component's inside. */
export interface Level {
  nodes: NodeInstance[];
  edges: Edge[];
}

export interface GroupRequest {
  /** Ids (on this level) of the nodes that go inside. */
  nodes: string[];
  /** Id of the new definition in the document's `components`. */
  component: string;
  /** Id of the instance node that replaces them; default: the component id. */
  instance?: string;
  name: string;
  /** Inner params to expose, by the name the component gives them (default: the inner param's name). */
  params?: { node: string; param: string; name?: string }[];
}

export interface Grouped {
  level: Level;
  definition: Component;
}

/**
 * Moves some nodes of a level into a new component and puts one instance in their place, wired as they
 * were: each outside source feeding the group becomes one input (feeding every inner input it fed),
 * each inner output used outside becomes one output, and the inner inputs and outputs wired nowhere
 * become ports too, so the component can be wired like a node. Names are the inner ports' own, made
 * unique. The flat graph, and so every result and cache key, stays the same.
 */
export function groupNodes(level: Level, req: GroupRequest, ports: PortNames): Grouped {
  const inside = new Set(req.nodes);
  const instance = req.instance ?? req.component;
  if (!inside.size) throw new Error('Pick at least one node to make a component');
  for (const id of inside) if (!level.nodes.some((n) => n.id === id)) throw new Error(`No node "${id}" to put in the component`);
  if (level.nodes.some((n) => n.id === instance && !inside.has(n.id))) throw new Error(`A node "${instance}" is already there`);

  const taken = new Set<string>();
  const unique = (name: string) => {
    let n = name;
    for (let i = 2; taken.has(n); i++) n = `${name}-${i}`;
    taken.add(n);
    return n;
  };
  const key = (r: PortRef) => `${r.node}\0${r.port}`;

  const definition: Component = {
    name: req.name,
    nodes: level.nodes.filter((n) => inside.has(n.id)).map((n) => structuredClone(n)),
    edges: level.edges.filter((e) => inside.has(e.from.node) && inside.has(e.to.node)).map((e) => structuredClone(e)),
    inputs: {},
    outputs: {},
    params: {},
  };
  const outer: Edge[] = level.edges.filter((e) => !inside.has(e.from.node) && !inside.has(e.to.node));

  // Inputs: one per outside source.
  const inputBySource = new Map<string, string>();
  for (const e of level.edges.filter((e) => !inside.has(e.from.node) && inside.has(e.to.node))) {
    let name = inputBySource.get(key(e.from));
    if (!name) {
      name = unique(e.to.port);
      inputBySource.set(key(e.from), name);
      outer.push({ from: e.from, to: { node: instance, port: name } });
    }
    (definition.inputs[name] ??= { targets: [] }).targets.push(e.to);
  }
  // Outputs: one per inner source used outside.
  const outputBySource = new Map<string, string>();
  for (const e of level.edges.filter((e) => inside.has(e.from.node) && !inside.has(e.to.node))) {
    let name = outputBySource.get(key(e.from));
    if (!name) {
      name = unique(e.from.port);
      outputBySource.set(key(e.from), name);
      definition.outputs[name] = { from: e.from };
    }
    outer.push({ from: { node: instance, port: name }, to: e.to });
  }
  // Inner ports wired nowhere.
  const wiredIn = new Set(level.edges.map((e) => key(e.to)));
  const wiredOut = new Set(level.edges.map((e) => key(e.from)));
  for (const node of definition.nodes) {
    const p = node.type === COMPONENT_TYPE ? undefined : ports(node.type);
    for (const port of p?.inputs ?? []) {
      if (!wiredIn.has(key({ node: node.id, port }))) definition.inputs[unique(port)] = { targets: [{ node: node.id, port }] };
    }
    for (const port of p?.outputs ?? []) {
      if (!wiredOut.has(key({ node: node.id, port }))) definition.outputs[unique(port)] = { from: { node: node.id, port } };
    }
  }

  const paramNames = new Set<string>();
  for (const p of req.params ?? []) {
    const member = definition.nodes.find((n) => n.id === p.node);
    if (!member) throw new Error(`Param ${p.node}.${p.param}: "${p.node}" is not in the component`);
    const known = member.type === COMPONENT_TYPE ? undefined : ports(member.type)?.params;
    if (known && !known.includes(p.param)) throw new Error(`Param ${p.node}.${p.param}: ${member.type} has no param "${p.param}"`);
    let name = p.name ?? p.param;
    for (let i = 2; paramNames.has(name); i++) name = `${p.name ?? p.param}-${i}`;
    paramNames.add(name);
    definition.params[name] = { node: p.node, param: p.param };
  }

  const members = level.nodes.filter((n) => inside.has(n.id));
  const placed = members.filter((n) => n.position);
  const node: NodeInstance = {
    id: instance,
    type: COMPONENT_TYPE,
    component: req.component,
    params: {},
    title: req.name,
    ...(placed.length ? { position: { x: Math.min(...placed.map((n) => n.position!.x)), y: Math.min(...placed.map((n) => n.position!.y)) } } : {}),
  };
  // The instance takes the place of the first member, so document order stays readable.
  const first = level.nodes.findIndex((n) => inside.has(n.id));
  const nodes = level.nodes.filter((n, i) => i === first || !inside.has(n.id)).map((n, i) => (i === first ? node : n));
  return { level: { nodes, edges: outer }, definition };
}

/** Groups on the document's top level and adds the definition to its components. */
export function groupGraph(graph: Graph, req: GroupRequest, ports: PortNames): Graph {
  if (graph.components && Object.hasOwn(graph.components, req.component)) throw new Error(`The graph already has a component "${req.component}"`);
  const { level, definition } = groupNodes(graph, req, ports);
  return { ...graph, nodes: level.nodes, edges: level.edges, components: { ...graph.components, [req.component]: definition } };
}

/** A file that says how to group a flat graph: one entry per component, applied in order. */
export const GroupingSchema = z
  .object({
    about: z.string().optional(),
    components: z.array(
      z
        .object({
          component: z.string().min(1),
          instance: z.string().min(1).optional(),
          name: z.string().min(1).max(200),
          nodes: z.array(z.string()).min(1),
          params: z.array(z.object({ node: z.string(), param: z.string(), name: z.string().optional() }).strict()).optional(),
        })
        .strict(),
    ),
  })
  .strict();
export type Grouping = z.infer<typeof GroupingSchema>;

/** Applies a grouping file's entries one after the other to a graph's top level. */
export function applyGrouping(graph: Graph, grouping: Grouping, ports: PortNames): Graph {
  return grouping.components.reduce((g, req) => groupGraph(g, req, ports), graph);
}

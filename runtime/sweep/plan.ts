// From a graph and a sweep spec to the graphs it runs: one per cell and seed, each a complete graph (the
// cell's image carries it), each validated before anything runs.
import { createHash } from 'node:crypto';
import type { Problem } from '../../protocol/index.ts';
import { stableJson } from '../cache-key.ts';
import type { Graph } from '../../protocol/index.ts';
import type { NodeRegistry } from '../registry.ts';
import { assertGraph, checkGraph, GraphValidationError } from '../validate.ts';
import { axisLabel, axisValues, cellsOf, SweepSpecSchema, type AxisValue, type Cell, type SweepSpec } from '../../protocol/index.ts';

export interface SweepJob {
  cell: Cell;
  /** 0 .. seeds.count - 1 */
  sample: number;
  seed?: number;
  /** The graph this job runs, without the sweep spec: opening it runs this one cell. */
  graph: Graph;
  /** Identity of the job: a hash of its graph, the key finished cells are found again by. */
  key: string;
}

export interface SweepPlan {
  spec: SweepSpec;
  labels: string[];
  values: AxisValue[][];
  jobs: SweepJob[];
  /** Where the cell image comes from. */
  image: { node: string; port: string };
  /** The outputs the table records: every NUMBER output of the nodes of category `score`. */
  scores: { node: string; port: string }[];
}

/** The spec a graph carries in `meta.sweep`, if any. */
export function sweepOf(doc: unknown): unknown {
  const meta = (doc as { meta?: Record<string, unknown> } | null)?.meta;
  return meta && typeof meta === 'object' ? meta.sweep : undefined;
}

/** Plans a sweep; throws GraphValidationError listing every problem (of the spec and of every cell). */
export function planSweep(doc: unknown, rawSpec: unknown, registry: NodeRegistry): SweepPlan {
  const parsed = SweepSpecSchema.safeParse(rawSpec);
  if (!parsed.success) {
    throw new GraphValidationError(parsed.error.issues.map((i) => ({ field: ['meta', 'sweep', ...i.path.map(String)].join('.'), message: i.message })));
  }
  const spec = parsed.data;
  const base = assertGraph(doc, registry);
  const problems: Problem[] = [];
  const paramOf = (node: string, param: string, field: string) => {
    const def = base.defs.get(node);
    if (!def) problems.push({ field, message: `No node "${node}" in the graph` });
    else if (!Object.hasOwn(def.params.shape, param)) problems.push({ node, field, message: `${def.type} has no param "${param}"` });
    else return base.params.get(node)![param];
    return undefined;
  };
  spec.axes.forEach((a, i) => {
    const current = paramOf(a.node, a.param, `meta.sweep.axes.${i}`);
    if (a.replace && (typeof current !== 'string' || !axisValues(a).every((v) => typeof v === 'string') || !current.includes(String(axisValues(a)[0])))) {
      problems.push({ node: a.node, field: `meta.sweep.axes.${i}`, message: `Prompt S/R: the first value must be text found in ${a.param}` });
    }
  });
  const baseSeed = spec.seeds && paramOf(spec.seeds.node, spec.seeds.param, 'meta.sweep.seeds');
  if (spec.seeds && baseSeed !== undefined && typeof baseSeed !== 'number') problems.push({ node: spec.seeds.node, field: 'meta.sweep.seeds', message: `${spec.seeds.param} is not a number` });

  const imageNodes = base.order.filter((id) => Object.values(base.defs.get(id)!.outputs).some((o) => o.type === 'IMAGES' || o.type === 'IMAGE'));
  const last = imageNodes.at(-1);
  const image = spec.image ?? (last ? { node: last, port: Object.entries(base.defs.get(last)!.outputs).find(([, o]) => o.type === 'IMAGES' || o.type === 'IMAGE')![0] } : undefined);
  if (!image) problems.push({ field: 'meta.sweep.image', message: 'No node in the graph has an image output' });
  else if (!base.defs.get(image.node)?.outputs[image.port]) problems.push({ field: 'meta.sweep.image', message: `No output "${image.port}" on node "${image.node}"` });
  if (problems.length) throw new GraphValidationError(problems);

  const { meta, ...rest } = base.graph;
  const { sweep: _drop, ...otherMeta } = meta ?? {};
  const cellBase: Graph = { ...rest, ...(Object.keys(otherMeta).length ? { meta: otherMeta } : {}) };
  const jobs: SweepJob[] = [];
  const seen = new Set<string>();
  for (const cell of cellsOf(spec.axes)) {
    for (let sample = 0; sample < (spec.seeds?.count ?? 1); sample++) {
      const graph: Graph = structuredClone(cellBase);
      const set = (node: string, param: string, value: unknown) => {
        const n = graph.nodes.find((x) => x.id === node)!;
        n.params = { ...n.params, [param]: value };
      };
      spec.axes.forEach((a, i) => {
        const v = cell.values[i];
        if (a.replace) set(a.node, a.param, String(base.params.get(a.node)![a.param]).split(String(axisValues(a)[0])).join(String(v)));
        else set(a.node, a.param, v);
      });
      const seed = spec.seeds ? (baseSeed as number) + sample : undefined;
      if (spec.seeds) set(spec.seeds.node, spec.seeds.param, seed);
      const check = checkGraph(graph, registry);
      if (!check.ok) {
        for (const p of check.problems) if (!seen.has(stableJson(p))) (seen.add(stableJson(p)), problems.push(p));
        continue;
      }
      jobs.push({ cell, sample, seed, graph, key: jobKey(graph) });
    }
  }
  if (problems.length) throw new GraphValidationError(problems);
  const scores = base.order
    .filter((id) => base.defs.get(id)!.category === 'score')
    .flatMap((node) => Object.entries(base.defs.get(node)!.outputs).flatMap(([port, o]) => (o.type === 'NUMBER' ? [{ node, port }] : [])));
  const bad = spec.caption?.filter((c) => !scores.some((s) => `${s.node}.${s.port}` === c)) ?? [];
  if (bad.length) throw new GraphValidationError(bad.map((c) => ({ field: 'meta.sweep.caption', message: `"${c}" is not a NUMBER output of a score node` })));
  return { spec, labels: spec.axes.map(axisLabel), values: spec.axes.map(axisValues), jobs, image: image!, scores };
}

/** What a job computes: node types, params and wires (not positions, titles or the name). */
function jobKey(graph: Graph): string {
  const what = { nodes: graph.nodes.map((n) => [n.id, n.type, n.params]), edges: graph.edges };
  return createHash('sha256').update(stableJson(what)).digest('hex').slice(0, 24);
}

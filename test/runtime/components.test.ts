import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry } from '../../nodes/index.ts';
import { applyGrouping, flatten, GRAPH_VERSION, GraphSchema, groupGraph, groupNodes, GroupingSchema, migrate, type Graph, type RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import { defineNode } from '../../runtime/node.ts';
import { NodeRegistry, registryPorts } from '../../runtime/registry.ts';
import { checkGraph, formatProblem } from '../../runtime/validate.ts';
import { diamond as diamondDoc, graph, tempData, testNodes, testRegistry } from '../helpers/test-nodes.ts';

const graphsDir = path.join(import.meta.dirname, '../../graphs');
const shipped = readdirSync(graphsDir).filter((f) => f.endsWith('.json') && f !== 'schema.json');
const readShipped = (file: string) => JSON.parse(readFileSync(path.join(graphsDir, file), 'utf8'));

const diamond = (): Graph => GraphSchema.parse(migrate(diamondDoc()));

const ports = registryPorts(testRegistry());

/** sum and plus10 in "adder" (a and b feed it from outside), then b moved into a nested "source" inside it. */
function nested(): Graph {
  const g = groupGraph(diamond(), { nodes: ['b', 'sum', 'plus10'], component: 'adder', name: 'Adder', params: [{ node: 'plus10', param: 'offset', name: 'bump' }] }, ports);
  const adder = g.components!.adder!;
  const { level, definition } = groupNodes(adder, { nodes: ['b'], component: 'source', instance: 'src', name: 'Source', params: [{ node: 'b', param: 'value' }] }, ports);
  return { ...g, components: { ...g.components, adder: { ...adder, ...level }, source: definition } };
}

async function runAll(executor: Executor, doc: unknown, targets?: string[]) {
  const events: RunEvent[] = [];
  const r = await executor.run(doc, { targets, onEvent: (e) => events.push(e) });
  return { ...r, events };
}

describe('graph format 2: components', () => {
  // The portrait graph ships as version 2, built from components (see the grouping test below).
  const v1Files = shipped.filter((f) => readShipped(f).version === 1);
  it('ships version 1 graphs and the component-built portrait graph', () => {
    expect(shipped.filter((f) => !v1Files.includes(f))).toEqual(['facechain-portrait.json']);
  });

  it.each(v1Files)('migrates the shipped %s from version 1 to a valid version 2 document, nodes and edges unchanged', (file) => {
    const v1 = readShipped(file);
    expect(v1.version).toBe(1);
    const v2 = GraphSchema.parse(migrate(v1));
    expect(v2.version).toBe(GRAPH_VERSION);
    expect(GRAPH_VERSION).toBe(2);
    expect(v2.nodes).toEqual(v1.nodes.map((n: object) => ({ params: {}, ...n })));
    expect(v2.edges).toEqual(v1.edges);
    expect(flatten(v2)).toEqual({ nodes: v2.nodes, edges: v2.edges, instances: new Map(), problems: [] });
  });

  it('a component graph runs to the same outputs with the same cache keys as its flat graph', async () => {
    const flat = diamond();
    const grouped = groupGraph(flat, { nodes: ['a', 'b', 'sum'], component: 'pair', instance: 'pair', name: 'Pair sum' }, ports);
    expect(grouped.nodes.map((n) => n.id)).toEqual(['pair', 'plus10', 'c', 'other']);
    expect(grouped.components!.pair!.outputs).toEqual({ value: { from: { node: 'sum', port: 'value' } } });

    const executor = new Executor({ registry: testRegistry(), data: tempData() });
    const first = await runAll(executor, flat);
    expect(first.status).toBe('finished');
    // Same executor, same cache: every node of the component graph is a hit, so every key is equal.
    const second = await runAll(executor, grouped);
    expect(second.status).toBe('finished');
    expect(second.executed).toEqual([]);
    expect(second.cached.sort()).toEqual(['c', 'other', 'pair/a', 'pair/b', 'pair/sum', 'plus10']);

    // A fresh executor computes the same values under the path ids.
    const fresh = await runAll(new Executor({ registry: testRegistry(), data: tempData() }), grouped);
    expect(fresh.executed.length).toBe(6);
    for (const [id, out] of first.outputs) expect(fresh.outputs.get(['a', 'b', 'sum'].includes(id) ? `pair/${id}` : id)).toEqual(out);
  });

  it('nested components flatten to paths, take their params and share the cache with the flat graph', async () => {
    const doc = nested();
    const f = flatten(doc);
    expect(f.problems).toEqual([]);
    expect(f.nodes.map((n) => n.id).sort()).toEqual(['a', 'adder/plus10', 'adder/src/b', 'adder/sum', 'c', 'other']);
    expect(f.instances.get('adder')).toEqual(['adder/plus10']);

    const executor = new Executor({ registry: testRegistry(), data: tempData() });
    await runAll(executor, diamond());
    const same = await runAll(executor, doc);
    expect(same.executed).toEqual([]);
    expect(same.outputs.get('adder/plus10')).toEqual({ value: 15 });

    // Instance params: the outer one sets plus10's offset, the nested one b's value (through two levels).
    const set: Graph = structuredClone(doc);
    set.nodes.find((n) => n.id === 'adder')!.params = { bump: 20 };
    set.components!.adder!.nodes.find((n) => n.id === 'src')!.params = { value: 30 };
    const changed = await runAll(executor, set);
    expect(changed.status).toBe('finished');
    expect(changed.executed.sort()).toEqual(['adder/plus10', 'adder/src/b', 'adder/sum']);
    expect(changed.outputs.get('adder/plus10')).toEqual({ value: 2 + 30 + 20 });
  });

  it('runs up to a component instance: the nodes behind its outputs', async () => {
    const r = await runAll(new Executor({ registry: testRegistry(), data: tempData() }), nested(), ['adder']);
    expect(r.status).toBe('finished');
    expect(r.executed.sort()).toEqual(['a', 'adder/plus10', 'adder/src/b', 'adder/sum']);
  });

  it('problems inside components name the path of the node', () => {
    const doc = nested();
    doc.components!.source!.nodes[0]!.params = { value: 5000 };
    doc.nodes.find((n) => n.id === 'adder')!.params = { nope: 1 };
    const r = checkGraph(doc, testRegistry());
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : r.problems.map(formatProblem);
    expect(lines).toContainEqual(expect.stringMatching(/^- node "adder\/src\/b", field "params\.value": .*<=1000/));
    expect(lines).toContainEqual('- node "adder", field "params.nope": Unknown param "nope" for component "Adder"');
  });

  it('refuses unknown components, components that contain themselves and ports a component lacks', () => {
    const doc = nested();
    doc.components!.source!.nodes.push({ id: 'loop', type: 'component', component: 'adder', params: {} });
    doc.nodes.push({ id: 'ghost', type: 'component', component: 'missing', params: {} });
    doc.edges.push({ from: { node: 'adder', port: 'nope' }, to: { node: 'other', port: 'b' } });
    doc.edges.push({ from: { node: 'c', port: 'value' }, to: { node: 'adder', port: 'constructor' } });
    doc.nodes.push({ id: 'proto', type: 'component', component: 'constructor', params: {} });
    const r = checkGraph(doc, testRegistry());
    const found = r.ok ? [] : r.problems.map((p) => `${p.node}:${p.field}: ${p.message}`);
    expect(found).toContainEqual('adder/src/loop:component: Component "adder" contains itself (adder -> source -> adder)');
    expect(found).toContainEqual('ghost:component: Unknown component "missing"');
    expect(found).toContainEqual('other:inputs.b: Component "Adder" (adder) has no output "nope"');
    expect(found).toContainEqual('adder:inputs.constructor: Component "Adder" (adder) has no input "constructor"');
    expect(found).toContainEqual('proto:component: Unknown component "constructor"');
  });

  it('refuses components that expand beyond the size of a graph, without building them', () => {
    // 10 instances per level, 6 levels: a million nodes from a document of a few kilobytes.
    const level = (inner: string) => ({
      name: inner,
      nodes: Array.from({ length: 10 }, (_, i) => ({ id: `n${i}`, type: 'component', component: inner, params: {} })),
      edges: [],
      inputs: {},
      outputs: {},
      params: {},
    });
    const components: Graph['components'] = { c0: { name: 'leaf', nodes: [{ id: 'k', type: 'test/constant', params: {} }], edges: [], inputs: {}, outputs: {}, params: {} } };
    for (let i = 1; i <= 6; i++) components[`c${i}`] = level(`c${i - 1}`);
    const doc = GraphSchema.parse({ ...migrate(graph([])), nodes: [{ id: 'top', type: 'component', component: 'c6', params: {} }], components });
    const r = checkGraph(doc, testRegistry());
    expect(r.ok ? [] : r.problems).toEqual([{ field: 'components', message: 'Its components expand to more than 10,000 nodes, the most a graph may have' }]);
  });

  it('the shipped portrait graph is graphs/groupings/ applied to its flat form, and valid', () => {
    const registry = createRegistry();
    const shippedDoc = GraphSchema.parse(migrate(readShipped('facechain-portrait.json')));
    expect(migrate(readShipped('facechain-portrait.json'))).toEqual(readShipped('facechain-portrait.json'));
    expect(shippedDoc.nodes.map((n) => n.id)).toEqual(['preprocess', 'checkpoint', 'train', 'generate', 'post']);
    const r = checkGraph(shippedDoc, registry);
    expect(r.ok ? [] : r.problems).toEqual([]);
    // Its flat form, under the inner nodes' own ids: the graph the grouping file was written for.
    const f = flatten(shippedDoc);
    expect(f.problems).toEqual([]);
    const strip = (id: string) => id.split('/').pop()!;
    const flat = GraphSchema.parse({
      ...shippedDoc,
      components: undefined,
      nodes: f.nodes.map((n) => ({ ...n, id: strip(n.id) })),
      edges: f.edges.map((e) => ({ from: { ...e.from, node: strip(e.from.node) }, to: { ...e.to, node: strip(e.to.node) } })),
    });
    expect(new Set(flat.nodes.map((n) => n.id)).size).toBe(f.nodes.length);
    const grouping = GroupingSchema.parse(JSON.parse(readFileSync(path.join(graphsDir, 'groupings/facechain-portrait.json'), 'utf8')));
    const regrouped = applyGrouping(flat, grouping, registryPorts(registry));
    // The same graph but for where its nodes are drawn (laid out by hand after grouping) and the order of lists.
    const edgeText = (e: { from: { node: string; port: string }; to: { node: string; port: string } }) => `${e.from.node}.${e.from.port}>${e.to.node}.${e.to.port}`;
    const canonical = (level: { nodes: Graph['nodes']; edges: Graph['edges'] }) => ({
      nodes: level.nodes.map(({ position: _, ...n }) => n).sort((a, b) => a.id.localeCompare(b.id)),
      edges: level.edges.map(edgeText).sort(),
    });
    expect(canonical(regrouped)).toEqual(canonical(shippedDoc));
    const components = (g: Graph) =>
      Object.fromEntries(
        Object.entries(g.components ?? {}).map(([id, c]) => [
          id,
          { ...c, ...canonical(c), inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v.targets.map((t) => `${t.node}.${t.port}`).sort()])) },
        ]),
      );
    expect(components(regrouped)).toEqual(components(shippedDoc));
    // Exposed params carry the inner values as their defaults: setting one changes the inner node.
    shippedDoc.nodes.find((n) => n.id === 'train')!.params = { steps: 7 };
    expect(flatten(shippedDoc).nodes.find((n) => n.id === 'train/train')!.params.steps).toBe(7);
  });

  it('refuses a grouping that names a param the node lacks or a node not in the group', () => {
    expect(() => groupGraph(diamond(), { nodes: ['a'], component: 'x', name: 'X', params: [{ node: 'a', param: 'nope' }] }, ports)).toThrow(/test\/constant has no param "nope"/);
    expect(() => groupGraph(diamond(), { nodes: ['a'], component: 'x', name: 'X', params: [{ node: 'b', param: 'value' }] }, ports)).toThrow(/"b" is not in the component/);
  });
});

describe('unknown node types and node versions', () => {
  it('validate and run refuse with the list of missing types, and keep the nodes', async () => {
    const doc = graph([
      { id: 'x', type: 'vendor/magic', params: { spell: 'fireball' } },
      { id: 'y', type: 'vendor/magic' },
      { id: 'z', type: 'other/thing' },
      { id: 'n', type: 'test/constant', params: { value: 1, future: true } },
    ]);
    const r = checkGraph(doc, testRegistry());
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems[0]!.message).toBe('This build lacks 2 node types: vendor/magic (x, y); other/thing (z). The nodes are kept as they are; it cannot run until they exist.');
    expect(problems).toContainEqual({ node: 'n', field: 'params.future', message: 'Unknown param "future" for test/constant' });
    const run = await runAll(new Executor({ registry: testRegistry(), data: tempData() }), doc);
    expect(run.status).toBe('failed');
    expect(run.executed).toEqual([]);
    expect(run.problems[0]!.message).toMatch(/lacks 2 node types: vendor\/magic \(x, y\); other\/thing \(z\)/);
  });

  const scaleV2 = defineNode({
    type: 'test/scale',
    version: 2,
    category: 'test',
    title: 'Scale',
    description: 'value * factor; version 1 called the factor "times" and took percent',
    inputs: { a: { type: 'NUMBER' } },
    outputs: { value: { type: 'NUMBER' } },
    params: z.object({ factor: z.number().default(1) }),
    migrate: (params, from) => {
      if (from >= 2) return params;
      const { times, ...rest } = params;
      return times === undefined ? rest : { ...rest, factor: Number(times) / 100 };
    },
    run: (_ctx, { a }, p) => ({ value: a * p.factor }),
  });
  const registry = new NodeRegistry([...testNodes(), scaleV2]);

  it('upgrades a node written for an older version with its type\'s migrate, and says so in the log', async () => {
    const doc = graph([{ id: 'k', type: 'test/constant', params: { value: 4 } }, { id: 's', type: 'test/scale', params: { times: 250 } }], [['k', 'value', 's', 'a']]);
    (doc.nodes[1] as { version?: number }).version = 1;
    const r = await runAll(new Executor({ registry, data: tempData() }), doc);
    expect(r.status).toBe('finished');
    expect(r.outputs.get('s')).toEqual({ value: 10 });
    const logs = r.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs).toContain('Node "s": test/scale upgraded from version 1 to 2');
  });

  it('a node written for a newer version than this build knows is kept and refused like a missing type', () => {
    const doc = graph([{ id: 's', type: 'test/scale', params: { factor: 2, extra: 1 } }]);
    (doc.nodes[0] as { version?: number }).version = 3;
    const r = checkGraph(doc, registry);
    const problems = r.ok ? [] : r.problems;
    expect(problems[0]!.message).toMatch(/lacks a node type: test\/scale version 3 \(s\)/);
    expect(problems).toContainEqual({ node: 's', field: 'version', message: 'Made with version 3 of test/scale; this build has version 2: please update FaceChain Studio' });
  });
});

import { describe, expect, it } from 'vitest';
import { checkGraph } from '../../runtime/validate.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';

const registry = testRegistry();
const c = (id: string, value = 1) => ({ id, type: 'test/constant', params: { value } });
const add = (id: string) => ({ id, type: 'test/add' });

function problems(doc: unknown) {
  const r = checkGraph(doc, registry);
  return r.ok ? [] : r.problems;
}

describe('graph validation', () => {
  const cases: [string, unknown, { node?: string; field?: string; message: RegExp }][] = [
    ['unknown node type', graph([{ id: 'x', type: 'test/nope' }]), { node: 'x', field: 'type', message: /Unknown node type "test\/nope"/ }],
    ['missing required input', graph([add('sum')]), { node: 'sum', field: 'inputs.a', message: /Required input "a" \(NUMBER\)/ }],
    [
      'port type mismatch',
      graph([c('n'), { id: 'r', type: 'image/resize' }], [['n', 'value', 'r', 'images']]),
      { node: 'r', field: 'inputs.images', message: /NUMBER cannot feed a IMAGES input/ },
    ],
    ['param out of range', graph([c('n', 5000)]), { node: 'n', field: 'params.value', message: /<=1000/ }],
    ['param of wrong type', graph([c('n', 'five' as unknown as number)]), { node: 'n', field: 'params.value', message: /expected number/ }],
    ['unknown param', graph([{ id: 'n', type: 'test/constant', params: { valeu: 3 } }]), { node: 'n', field: 'params.valeu', message: /Unknown param "valeu"/ }],
    [
      'cycle',
      graph([c('n'), add('a1'), add('a2')], [['n', 'value', 'a1', 'a'], ['a1', 'value', 'a2', 'a'], ['a2', 'value', 'a1', 'b']]),
      { node: 'a1', message: /cycle: .*a1.*a2|cycle: .*a2.*a1/ },
    ],
    ['duplicate ids', graph([c('n'), c('n')]), { node: 'n', field: 'id', message: /Duplicate node id "n"/ }],
    ['dangling edge source', graph([add('s')], [['ghost', 'value', 's', 'a']]), { node: 's', field: 'edges[0].from.node', message: /"ghost" that does not exist/ }],
    ['dangling edge target', graph([c('n')], [['n', 'value', 'ghost', 'a']]), { node: 'n', field: 'edges[0].to.node', message: /"ghost" that does not exist/ }],
    ['unknown output port', graph([c('n'), add('s')], [['n', 'nope', 's', 'a']]), { node: 'n', field: 'outputs.nope', message: /no output "nope"/ }],
    ['unknown input port', graph([c('n'), add('s')], [['n', 'value', 's', 'zz'], ['n', 'value', 's', 'a']]), { node: 's', field: 'inputs.zz', message: /no input "zz"/ }],
    ['two edges into one input', graph([c('n'), c('m'), add('s')], [['n', 'value', 's', 'a'], ['m', 'value', 's', 'a']]), { node: 's', field: 'inputs.a', message: /more than one incoming edge/ }],
    ['bad node id', graph([{ id: 'a b', type: 'test/constant' }]), { node: 'a b', field: 'id', message: /letters, digits/ }],
    ['extra node field', { ...graph([]), nodes: [{ id: 'n', type: 'test/constant', params: {}, colour: 'red' }] }, { node: 'n', message: /Unrecognized key.*colour/ }],
    ['newer version', { ...graph([]), version: 7 }, { message: /newer FaceChain Studio \(graph version 7\).*reads up to version 2/ }],
    ['wrong format', { format: 'comfy', version: 1, nodes: [] }, { message: /Not a FaceChain Studio graph/ }],
    ['not an object', [1, 2], { message: /must be a JSON object/ }],
  ];

  it.each(cases)('rejects %s, naming node and field', (_name, doc, expected) => {
    const found = problems(doc);
    expect(found.length).toBeGreaterThan(0);
    const match = found.find((p) => p.node === expected.node && (expected.field === undefined || p.field === expected.field) && expected.message.test(p.message));
    expect(match, JSON.stringify(found)).toBeDefined();
  });

  it('reports all problems at once', () => {
    const doc = graph(
      [c('n', 5000), { id: 'x', type: 'test/nope' }, add('s'), { id: 'r', type: 'image/resize', params: { fit: 'squash' } }],
      [['n', 'value', 'r', 'images']],
    );
    const fields = problems(doc).map((p) => `${p.node}:${p.field}`);
    expect(fields).toEqual(expect.arrayContaining(['n:params.value', 'x:type', 's:inputs.a', 'r:params.fit', 'r:inputs.images']));
  });

  it('reports malformed nodes and edges together with the problems of the well-formed rest', () => {
    const doc = {
      ...graph([c('n', 5000), { id: 'x', type: 'test/nope' }, add('s'), add('t')], [['n', 'value', 's', 'a']]),
    };
    doc.nodes.push({ id: 'bad id', type: 'test/constant', params: {} }, { type: 'test/add' } as never);
    doc.edges.push({ from: { node: 'n', port: 'value' }, to: { node: 's' } } as never, { from: { node: 'n', port: 'value' }, to: { node: 'bad id', port: 'a' } } as never);
    const found = problems(doc).map((p) => `${p.node}:${p.field}`);
    expect(found).toEqual(
      expect.arrayContaining(['bad id:id', 'nodes[5]:id', 's:edges[1].to.port', 'n:params.value', 'x:type', 't:inputs.a']),
    );
    // The edge into the malformed node is not reported as dangling: that node's own problem covers it.
    expect(found.filter((f) => f.includes('edges[2]'))).toEqual([]);
  });

  it('names the input through which a cycle closes', () => {
    const doc = graph([c('n'), add('a1'), add('a2')], [['n', 'value', 'a1', 'a'], ['a1', 'value', 'a2', 'a'], ['a2', 'value', 'a1', 'b'], ['n', 'value', 'a2', 'b']]);
    const found = problems(doc).map((p) => `${p.node}:${p.field}`);
    expect(found.sort()).toEqual(['a1:inputs.b', 'a2:inputs.a']);
  });

  it('accepts a widening connection (IMAGE into IMAGES) and applies param defaults', () => {
    const doc = graph(
      [{ id: 'load', type: 'image/load-images' }, { id: 'resize', type: 'image/resize', params: { width: 64 } }],
      [['load', 'image', 'resize', 'images']],
    );
    const r = checkGraph(doc, registry);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.checked.params.get('resize')).toMatchObject({ width: 64, height: 512, fit: 'cover' });
  });

  it('reports an unknown top-level key beside the problems of the nodes', () => {
    const doc = { ...graph([c('n', 5000), add('s')]), colour: 'red' };
    const found = problems(doc).map((p) => `${p.node}:${p.field}`);
    expect(found.sort()).toEqual(['n:params.value', 's:inputs.a', 'undefined:colour']);
    expect(problems(doc).find((p) => p.field === 'colour')?.message).toMatch(/Unknown top-level key "colour"/);
  });

  it('reports params named after Object.prototype members as unknown', () => {
    // JSON.parse keeps "__proto__" as an own key, as a graph arriving over HTTP has it.
    const doc = JSON.parse(
      JSON.stringify(graph([{ id: 'n', type: 'test/constant', params: { constructor: 1, toString: 2, hasOwnProperty: 3 } }])).replace('"constructor"', '"__proto__":{"value":7},"constructor"'),
    );
    const found = problems(doc).map((p) => `${p.field}: ${p.message}`);
    expect(found.sort()).toEqual([
      'params.__proto__: Unknown param "__proto__" for test/constant',
      'params.constructor: Unknown param "constructor" for test/constant',
      'params.hasOwnProperty: Unknown param "hasOwnProperty" for test/constant',
      'params.toString: Unknown param "toString" for test/constant',
    ]);
  });

  it('does not call a wired input unconnected when its wire was refused or comes from an unknown node type', () => {
    const doc = graph(
      [{ id: 'x', type: 'test/nope' }, add('s'), c('n'), { id: 'r', type: 'image/resize' }, add('t')],
      [['x', 'value', 's', 'a'], ['n', 'value', 'r', 'images'], ['ghost', 'value', 't', 'a']],
    );
    const found = problems(doc).map((p) => `${p.node}:${p.field}`);
    expect(found.sort()).toEqual(['r:inputs.images', 't:edges[2].from.node', 'undefined:undefined', 'x:type']);
  });

  it('reports a doubled input and a cycle through it together', () => {
    const doc = graph(
      [c('n'), c('m'), add('a1'), add('a2')],
      [['n', 'value', 'a1', 'a'], ['m', 'value', 'a1', 'a'], ['a1', 'value', 'a2', 'a'], ['a2', 'value', 'a1', 'a']],
    );
    const found = problems(doc);
    expect(found.filter((p) => /more than one incoming edge/.test(p.message)).map((p) => `${p.node}:${p.field}`)).toEqual(['a1:inputs.a', 'a1:inputs.a']);
    expect(found.filter((p) => /part of a cycle/.test(p.message)).map((p) => p.node).sort()).toEqual(['a1', 'a2']);
  });

  it('reports run targets that are not nodes of the graph', () => {
    const r = checkGraph(graph([c('n')]), registry, { targets: ['n', 'ghost'] });
    expect(r.ok ? [] : r.problems).toEqual([{ field: 'targets[1]', message: 'The run targets a node "ghost" that is not in the graph' }]);
  });

  it('reports a cycle through 10,000 nodes without running out of stack, each message short', () => {
    const n = 10_000;
    const ids = Array.from({ length: n }, (_, i) => `a${i}`);
    const doc = graph(ids.map(add), ids.map((id, i) => [id, 'value', ids[(i + 1) % n], 'a'] as [string, string, string, string]));
    const found = problems(doc);
    expect(found).toHaveLength(n);
    expect(found[0]!.message).toMatch(/^Node is part of a cycle: (a\d+ -> ){10}\.\.\. \(10000 nodes\)$/);
  });
});

import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { modelParam } from '../../runtime/params.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import { builtinNodes } from '../../nodes/index.ts';
import { tempDir } from './temp.ts';

/** Small real nodes for executor tests; `calls` counts executions per node id. */
export function testNodes(calls: Map<string, number> = new Map()) {
  const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1);
  const constant = defineNode({
    type: 'test/constant',
    version: 1,
    category: 'test',
    title: 'Constant',
    description: 'Outputs its value',
    inputs: {},
    outputs: { value: { type: 'NUMBER' } },
    params: z.object({ value: z.number().min(-1000).max(1000).default(1) }),
    run: (ctx, _i, p) => (count(ctx.nodeId), { value: p.value }),
  });
  const add = defineNode({
    type: 'test/add',
    version: 1,
    category: 'test',
    title: 'Add',
    description: 'a + b + offset',
    inputs: { a: { type: 'NUMBER' }, b: { type: 'NUMBER', optional: true } },
    outputs: { value: { type: 'NUMBER' } },
    params: z.object({ offset: z.number().default(0) }),
    run: (ctx, { a, b }, p) => (count(ctx.nodeId), { value: a + (b ?? 0) + p.offset }),
  });
  const fail = defineNode({
    type: 'test/fail',
    version: 1,
    category: 'test',
    title: 'Fail',
    description: 'Always throws',
    inputs: { a: { type: 'NUMBER' } },
    outputs: { value: { type: 'NUMBER' } },
    params: z.object({}),
    run: (ctx) => {
      count(ctx.nodeId);
      throw new Error('deliberate failure');
    },
  });
  const slow = defineNode({
    type: 'test/slow',
    version: 1,
    category: 'test',
    title: 'Slow',
    description: 'Counts up in steps, honouring cancel',
    inputs: { a: { type: 'NUMBER' } },
    outputs: { value: { type: 'NUMBER' } },
    params: z.object({ steps: z.number().int().min(1).max(10_000).default(100), stepMs: z.number().min(0).default(10) }),
    async run(ctx, { a }, p) {
      count(ctx.nodeId);
      for (let i = 0; i < p.steps; i++) {
        ctx.signal.throwIfAborted();
        await new Promise((r) => setTimeout(r, p.stepMs));
        ctx.progress((i + 1) / p.steps, `step ${i + 1}`);
      }
      return { value: a + p.steps };
    },
  });
  const text = defineNode({
    type: 'test/text',
    version: 1,
    category: 'test',
    title: 'Text',
    description: 'Counts the characters of its text',
    inputs: { text: { type: 'STRING' } },
    outputs: { length: { type: 'NUMBER' } },
    params: z.object({}),
    run: (ctx, { text }) => (count(ctx.nodeId), { length: text.length }),
  });
  const model = defineNode({
    type: 'test/model',
    version: 1,
    category: 'test',
    title: 'Model',
    description: 'Needs a LoRA file of the model store (for routing runs to the workers that have it)',
    inputs: {},
    outputs: { length: { type: 'NUMBER' } },
    params: z.object({ file: modelParam('loras', '', 'A LoRA file') }),
    run: (ctx, _i, p) => (count(ctx.nodeId), { length: p.file.length }),
  });
  return [constant, add, fail, slow, text, model];
}

export function testRegistry(calls?: Map<string, number>) {
  return new NodeRegistry([...builtinNodes, ...testNodes(calls)]);
}

export function tempData() {
  return openDataFolders(tempDir('data'));
}

type N = { id: string; type: string; params?: Record<string, unknown> };
type E = [string, string, string, string];
/** A graph document from nodes and [fromNode, fromPort, toNode, toPort] edges. */
export function graph(nodes: N[], edges: E[] = []) {
  return {
    format: 'facechain-graph',
    version: 1,
    name: 'test',
    nodes: nodes.map((n) => ({ params: {}, ...n })),
    edges: edges.map(([fn, fp, tn, tp]) => ({ from: { node: fn, port: fp }, to: { node: tn, port: tp } })),
  };
}

// a=2, b=3 -> sum = a + b -> plus10 = sum + 10 ; c=100 -> other = c + 1 (independent branch)
export const diamond = (aValue = 2) =>
  graph(
    [
      { id: 'a', type: 'test/constant', params: { value: aValue } },
      { id: 'b', type: 'test/constant', params: { value: 3 } },
      { id: 'sum', type: 'test/add' },
      { id: 'plus10', type: 'test/add', params: { offset: 10 } },
      { id: 'c', type: 'test/constant', params: { value: 100 } },
      { id: 'other', type: 'test/add', params: { offset: 1 } },
    ],
    [
      ['a', 'value', 'sum', 'a'],
      ['b', 'value', 'sum', 'b'],
      ['sum', 'value', 'plus10', 'a'],
      ['c', 'value', 'other', 'a'],
    ],
  );

/** One branch fails (and skips the node after it), an independent one finishes. */
export const failingGraph = () =>
  graph(
    [
      { id: 'one', type: 'test/constant' },
      { id: 'bad', type: 'test/fail' },
      { id: 'after', type: 'test/add' },
      { id: 'good', type: 'test/add' },
    ],
    [
      ['one', 'value', 'bad', 'a'],
      ['bad', 'value', 'after', 'a'],
      ['one', 'value', 'good', 'a'],
    ],
  );

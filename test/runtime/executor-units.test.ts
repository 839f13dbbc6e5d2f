// The executor's parts one by one: plan, cache key, node context, running one node.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { PreviewImage, RunEvent } from '../../protocol/index.ts';
import { cacheKey, stableJson } from '../../runtime/cache-key.ts';
import { defineNode } from '../../runtime/node.ts';
import { nodeContext, type NodeContextOptions } from '../../runtime/node-context.ts';
import { planNodes } from '../../runtime/plan.ts';
import { Rng } from '../../runtime/rng.ts';
import { CancelledError, runNode } from '../../runtime/run-node.ts';
import { assertGraph } from '../../runtime/validate.ts';
import { graph, tempData, testNodes, testRegistry } from '../helpers/test-nodes.ts';

// a -> sum <- b ; sum -> plus ; c -> other
const checked = assertGraph(
  graph(
    [
      { id: 'a', type: 'test/constant' },
      { id: 'b', type: 'test/constant' },
      { id: 'sum', type: 'test/add' },
      { id: 'plus', type: 'test/add' },
      { id: 'c', type: 'test/constant' },
      { id: 'other', type: 'test/add' },
    ],
    [['a', 'value', 'sum', 'a'], ['b', 'value', 'sum', 'b'], ['sum', 'value', 'plus', 'a'], ['c', 'value', 'other', 'a']],
  ),
  testRegistry(),
);
const [constant, add] = testNodes();

describe('planNodes', () => {
  it('runs everything upstream of the sinks, each node after its inputs', () => {
    const plan = planNodes(checked);
    expect(new Set(plan)).toEqual(new Set(['a', 'b', 'sum', 'plus', 'c', 'other']));
    for (const [before, after] of [['a', 'sum'], ['b', 'sum'], ['sum', 'plus'], ['c', 'other']]) {
      expect(plan.indexOf(before!)).toBeLessThan(plan.indexOf(after!));
    }
  });

  it('runs only what the targets need', () => {
    expect(new Set(planNodes(checked, ['sum']))).toEqual(new Set(['a', 'b', 'sum']));
    expect(planNodes(checked, ['c'])).toEqual(['c']);
  });
});

describe('cacheKey', () => {
  const key = (params: Record<string, unknown>, inputs: [string, string, string][] = [], fingerprint?: string) => cacheKey(add!, params, inputs, fingerprint);

  it('is the same for equal params in any key order, and differs for anything that changes the result', () => {
    expect(key({ offset: 1, x: { b: 1, a: 2 } })).toBe(key({ x: { a: 2, b: 1 }, offset: 1 }));
    expect(key({ offset: 1 })).not.toBe(key({ offset: 2 }));
    expect(key({}, [['a', 'k1', 'value']])).not.toBe(key({}, [['a', 'k2', 'value']]));
    expect(key({}, [], 'file:1')).not.toBe(key({}, [], 'file:2'));
    expect(cacheKey(constant!, {}, [])).not.toBe(key({}));
    expect(cacheKey({ ...add!, version: 2 }, {}, [])).not.toBe(key({}));
  });

  it('stableJson sorts object keys at every depth, not arrays', () => {
    expect(stableJson({ b: [2, 1], a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":[2,1]}');
  });
});

describe('nodeContext', () => {
  function make(over: Partial<NodeContextOptions> = {}) {
    const events: [RunEvent, PreviewImage | undefined][] = [];
    let previews = 0;
    const data = tempData();
    const { ctx, pending } = nodeContext({
      runId: 'r', nodeId: 'n', key: 'ab'.repeat(32), params: {}, signal: new AbortController().signal, graph: checked.graph,
      data, services: {}, progressIntervalMs: 0, emit: (e, p) => events.push([e, p]), nextPreviewId: () => previews++, ...over,
    });
    return { ctx, pending, events, data };
  }

  it('reports progress clamped to 0..1, throttled except the last', () => {
    const open = make();
    open.ctx.progress(-1);
    open.ctx.progress(2, 'done');
    expect(open.events.map(([e]) => e.type === 'node.progress' && [e.fraction, e.message])).toEqual([[0, undefined], [1, 'done']]);
    const slow = make({ progressIntervalMs: 1e12 });
    slow.ctx.progress(0.5);
    slow.ctx.progress(1);
    expect(slow.events.map(([e]) => e.type === 'node.progress' && e.fraction)).toEqual([1]);
  });

  it('seeds the rng from the seed param, and gives the node a cache folder named by its key', () => {
    const { ctx, data } = make({ params: { seed: 7 } });
    expect(ctx.rng.nextU32()).toBe(new Rng(7).nextU32());
    const dir = ctx.cacheDir();
    expect(dir).toBe(path.join(data.cache, 'nodes', 'ab'.repeat(16)));
    expect(existsSync(dir)).toBe(true);
  });

  it('streams previews as JPEG frames once encoded, and log lines as events', async () => {
    const { ctx, pending, events } = make();
    ctx.preview([{ width: 4, height: 2, channels: 3, data: new Uint8Array(24).fill(200) }]);
    ctx.log.warn('careful');
    await Promise.all(pending);
    const [preview] = events.filter(([e]) => e.type === 'node.preview');
    expect(preview![0]).toMatchObject({ type: 'node.preview', nodeId: 'n', previewId: 0, index: 0, mime: 'image/jpeg' });
    expect([...preview![1]!.data.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect(events.map(([e]) => e)).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', message: 'careful' }));
  });
});

describe('runNode', () => {
  const node = (outputs: Record<string, unknown>) =>
    defineNode({
      type: 'test/outputs', version: 1, category: 'test', title: 'Outputs', description: 'Returns what it is given',
      inputs: {}, outputs: { value: { type: 'NUMBER' }, note: { type: 'STRING', optional: true } }, params: z.object({}),
      run: () => outputs as never,
    });
  const context = (signal = new AbortController().signal) => nodeContext({
    runId: 'r', nodeId: 'n', key: 'k', params: {}, signal, graph: checked.graph, data: tempData(), services: {},
    progressIntervalMs: 0, emit: () => undefined, nextPreviewId: () => 0,
  });

  it('returns the outputs; an optional one may be missing, a required one may not', async () => {
    const a = context();
    expect(await runNode(node({ value: 3 }), a.ctx, {}, {}, a.pending)).toEqual({ value: 3 });
    const b = context();
    await expect(runNode(node({ note: 'x' }), b.ctx, {}, {}, b.pending)).rejects.toThrow('test/outputs returned no value for its output "value"');
  });

  it('waits for the previews it started, also when it throws, and reports a cancel', async () => {
    const controller = new AbortController();
    const { ctx, pending } = context(controller.signal);
    let settled = false;
    pending.push(Promise.resolve().then(() => void (settled = true)));
    controller.abort();
    await expect(runNode(node({ value: 1 }), ctx, {}, {}, pending)).rejects.toBeInstanceOf(CancelledError);
    expect(settled).toBe(true);
  });
});

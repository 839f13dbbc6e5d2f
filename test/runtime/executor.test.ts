import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import { diamond, graph, tempData, testRegistry } from '../helpers/test-nodes.ts';

function setup() {
  const calls = new Map<string, number>();
  const executor = new Executor({ registry: testRegistry(calls), data: tempData(), progressIntervalMs: 0 });
  return { calls, executor };
}

describe('executor', () => {
  it('runs nodes in dependency order and computes the values', async () => {
    const { executor } = setup();
    const events: RunEvent[] = [];
    const r = await executor.run(diamond(), { onEvent: (e) => events.push(e) });
    expect(r.status).toBe('finished');
    expect(r.outputs.get('plus10')).toEqual({ value: 15 });
    expect(r.outputs.get('other')).toEqual({ value: 101 });
    const started = events.filter((e) => e.type === 'node.started').map((e) => (e as { nodeId: string }).nodeId);
    expect(started.indexOf('sum')).toBeGreaterThan(started.indexOf('a'));
    expect(started.indexOf('sum')).toBeGreaterThan(started.indexOf('b'));
    expect(started.indexOf('plus10')).toBeGreaterThan(started.indexOf('sum'));
    expect(events[0]!.type).toBe('run.started');
    expect(events.at(-1)?.type).toBe('run.finished');
  });

  it('after one param changes, re-runs exactly that node and its dependents', async () => {
    const { executor, calls } = setup();
    await executor.run(diamond(2));
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    calls.clear();
    const r = await executor.run(diamond(7));
    expect(Object.fromEntries(calls)).toEqual({ a: 1, sum: 1, plus10: 1 });
    expect(r.cached.sort()).toEqual(['b', 'c', 'other']);
    expect(r.outputs.get('plus10')).toEqual({ value: 20 });
    calls.clear();
    await executor.run(diamond(7));
    expect(calls.size).toBe(0);
  });

  it('runs only what the targets need', async () => {
    const { executor, calls } = setup();
    const r = await executor.run(diamond(), { targets: ['other'] });
    expect([...calls.keys()].sort()).toEqual(['c', 'other']);
    expect(r.outputs.has('plus10')).toBe(false);
  });

  it('isolates a failing node: dependents skipped, other branches finish, earlier outputs kept', async () => {
    const { executor, calls } = setup();
    const doc = graph(
      [
        { id: 'a', type: 'test/constant', params: { value: 1 } },
        { id: 'boom', type: 'test/fail' },
        { id: 'after', type: 'test/add' },
        { id: 'fine', type: 'test/add', params: { offset: 5 } },
      ],
      [['a', 'value', 'boom', 'a'], ['boom', 'value', 'after', 'a'], ['a', 'value', 'fine', 'a']],
    );
    const events: RunEvent[] = [];
    const r = await executor.run(doc, { onEvent: (e) => events.push(e) });
    expect(r.status).toBe('failed');
    expect(r.failures).toEqual([{ node: 'boom', nodeType: 'test/fail', message: 'deliberate failure' }]);
    expect(calls.has('after')).toBe(false);
    expect(r.outputs.get('fine')).toEqual({ value: 6 });
    expect(r.outputs.get('a')).toEqual({ value: 1 });
    expect(events.find((e) => e.type === 'node.skipped')).toMatchObject({ nodeId: 'after', reason: expect.stringContaining('boom') });
    expect(events.at(-1)).toMatchObject({ type: 'run.failed', message: expect.stringContaining('"boom" (test/fail) failed: deliberate failure') });
  });

  it('cancels mid-run through the AbortSignal and keeps finished outputs', async () => {
    const { executor, calls } = setup();
    const doc = graph(
      [
        { id: 'a', type: 'test/constant' },
        { id: 'slow', type: 'test/slow', params: { steps: 1000, stepMs: 5 } },
        { id: 'after', type: 'test/add' },
      ],
      [['a', 'value', 'slow', 'a'], ['slow', 'value', 'after', 'a']],
    );
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const started = performance.now();
    const r = await executor.run(doc, {
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node.progress' && e.fraction >= 0.02) controller.abort();
      },
    });
    expect(r.status).toBe('cancelled');
    expect(performance.now() - started).toBeLessThan(4000);
    expect(calls.has('after')).toBe(false);
    expect(r.outputs.get('a')).toEqual({ value: 1 });
    expect(events.at(-1)?.type).toBe('run.cancelled');
    // A cancelled node is not cached: the next run executes it again.
    calls.clear();
    const again = await executor.run(doc, { targets: ['a'] });
    expect(again.cached).toEqual(['a']);
  });

  it('reports validation problems without running anything', async () => {
    const { executor, calls } = setup();
    const r = await executor.run(graph([{ id: 'x', type: 'test/add' }]));
    expect(r.status).toBe('failed');
    expect(r.problems[0]).toMatchObject({ node: 'x', field: 'inputs.a' });
    expect(calls.size).toBe(0);
  });

  it('widens NUMBER into a STRING input', async () => {
    const { executor } = setup();
    const r = await executor.run(
      graph([{ id: 'n', type: 'test/constant', params: { value: -123.5 } }, { id: 't', type: 'test/text' }], [['n', 'value', 't', 'text']]),
    );
    expect(r.outputs.get('t')).toEqual({ length: '-123.5'.length });
  });
});

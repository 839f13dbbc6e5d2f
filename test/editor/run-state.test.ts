import { describe, expect, it } from 'vitest';
import { type RunEvent, isActive, newRun, reduceRun } from '../../protocol/index.ts';
import { groupProblems, problemCount, unplacedProblems } from '../../editor/src/core/problems.ts';
import { resolveToken, withToken } from '../../editor/src/core/token.ts';

const t = { runId: 'r1', time: 1000 };
const fold = (events: RunEvent[]) => events.reduce(reduceRun, newRun('r1'));

describe('run state from events', () => {
  it('follows nodes through queued, running, cached, done and error', () => {
    const run = fold([
      { type: 'run.queued', ...t, position: 2 },
      { type: 'run.started', ...t, nodes: ['a', 'b', 'c', 'd'] },
      { type: 'node.cached', ...t, nodeId: 'a' },
      { type: 'node.finished', ...t, nodeId: 'a', durationMs: 0, outputs: { images: '6 images' } },
      { type: 'node.started', ...t, nodeId: 'b', nodeType: 'image/resize' },
      { type: 'node.progress', ...t, nodeId: 'b', fraction: 0.5, message: 'half' },
      { type: 'node.started', ...t, nodeId: 'c', nodeType: 'image/grid' },
      { type: 'node.error', ...t, nodeId: 'c', nodeType: 'image/grid', message: 'boom' },
      { type: 'log', ...t, level: 'info', message: 'hello' },
      { type: 'run.queued', runId: 'other', time: 0, position: 1 },
    ]);
    expect(run.status).toBe('running');
    expect(run.nodes).toEqual({
      a: { state: 'cached', durationMs: 0, outputs: { images: '6 images' } },
      b: { state: 'running', fraction: 0.5, message: 'half' },
      c: { state: 'error', error: 'boom' },
      d: { state: 'queued' },
    });
    expect(run.logs.map((l) => l.message)).toEqual(['boom', 'hello']);
    expect(isActive(run)).toBe(true);
  });

  it('ends finished, failed with problems, or cancelled without stale queued nodes', () => {
    const started: RunEvent[] = [{ type: 'run.started', ...t, nodes: ['a', 'b'] }, { type: 'node.started', ...t, nodeId: 'a', nodeType: 'x' }];
    expect(fold([...started, { type: 'run.finished', ...t, durationMs: 5 }])).toMatchObject({ status: 'finished', durationMs: 5 });
    const failed = fold([...started, { type: 'run.failed', ...t, message: 'bad', durationMs: 1, problems: [{ node: 'a', message: 'x' }] }]);
    expect(failed).toMatchObject({ status: 'failed', error: 'bad', problems: [{ node: 'a', message: 'x' }] });
    const cancelled = fold([...started, { type: 'node.finished', ...t, nodeId: 'b', durationMs: 1, outputs: {} }, { type: 'run.cancelled', ...t, durationMs: 2 }]);
    expect(cancelled.status).toBe('cancelled');
    expect(Object.keys(cancelled.nodes)).toEqual(['b']);
    expect(isActive(cancelled)).toBe(false);
  });
});

describe('validation problems', () => {
  it('pins problems to param fields, input handles, the node or the graph', () => {
    const g = groupProblems([
      { node: 'resize', field: 'params.width', message: 'Too small' },
      { node: 'resize', field: 'inputs.images', message: 'Required input "images" (IMAGES) is not connected' },
      { node: 'resize', field: 'type', message: 'Unknown node type' },
      { node: 'grid', message: 'Node is part of a cycle' },
      { field: 'name', message: 'Too long' },
    ]);
    expect(g.nodes.resize).toEqual({
      general: ['type: Unknown node type'],
      params: { width: ['Too small'] },
      inputs: { images: ['Required input "images" (IMAGES) is not connected'] },
    });
    expect(g.nodes.grid!.general).toEqual(['Node is part of a cycle']);
    expect(g.graph).toEqual(['name: Too long']);
    expect(problemCount(g)).toBe(5);
  });

  it('lists on the node what no field or handle shows', () => {
    const g = groupProblems([
      { node: 'n', field: 'params.width', message: 'Too small' },
      { node: 'n', field: 'params.old', message: 'Unknown param "old" for image/resize' },
      { node: 'n', field: 'inputs.gone', message: 'image/resize has no input "gone" (edge 2)' },
      { node: 'n', field: 'inputs.images', message: 'Required input' },
    ]);
    expect(unplacedProblems(g.nodes.n!, ['width'], ['images'])).toEqual([
      'params.old: Unknown param "old" for image/resize',
      'inputs.gone: image/resize has no input "gone" (edge 2)',
    ]);
  });
});

describe('access token', () => {
  it('keeps a ?token= from the URL for the session and strips it from the address bar', () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    const first = resolveToken({ url: new URL('http://h:1/?token=s3cret&x=1'), storage });
    expect(first.token).toBe('s3cret');
    expect(first.cleanUrl.toString()).toBe('http://h:1/?x=1');
    expect(resolveToken({ url: new URL('http://h:1/'), storage }).token).toBe('s3cret');
    expect(withToken('/api/a?b=1', 'x y')).toBe('/api/a?b=1&token=x%20y');
    expect(withToken('/ws', undefined)).toBe('/ws');
  });
});

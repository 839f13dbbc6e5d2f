import { rmSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Executor } from '../../runtime/executor.ts';
import { RunHistory, storedView } from '../../server/run-history.ts';
import { RunQueue } from '../../server/run-queue.ts';
import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { graph, tempData, testNodes, testRegistry } from '../helpers/test-nodes.ts';

function queue(historyLimit: number, saveEveryMs?: number) {
  const data = tempData();
  const registry = testRegistry();
  const history = new RunHistory(data.runs);
  return { data, history, queue: new RunQueue({ executor: new Executor({ registry, data }), registry, data, history, historyLimit, saveEveryMs }) };
}

/** Distinct params, so no run is answered from the output cache. */
const constant = (value: number) => graph([{ id: 'c', type: 'test/constant', params: { value } }]);

describe('run queue and history', () => {
  it('validates a graph once, on submit, and runs the graph it checked', async () => {
    let checks = 0;
    const counted = defineNode({
      type: 'test/counted', version: 1, category: 'test', title: 'Counted', description: 'Counts how often its params are checked',
      inputs: {}, outputs: { value: { type: 'NUMBER' } },
      params: z.object({ value: z.number().default(1) }).superRefine(() => void checks++),
      run: (_ctx, _inputs, p) => ({ value: p.value }),
    });
    const data = tempData();
    const registry = new NodeRegistry([...testNodes(), counted]);
    const q = new RunQueue({ executor: new Executor({ registry, data }), registry, data, history: new RunHistory(data.runs) });
    const run = q.enqueue(graph([{ id: 'n', type: 'test/counted', params: { value: 7 } }]));
    await q.idle();
    expect(run.state.status).toBe('finished');
    expect(run.result?.outputs.get('n')).toEqual({ value: 7 });
    expect(checks).toBe(1);
  });

  it('keeps only the newest ended runs in memory; every ended run is saved', async () => {
    const { queue: q, history } = queue(2);
    const ids = [1, 2, 3, 4].map((v) => q.enqueue(constant(v)).state.runId);
    await q.idle();
    expect(q.list().map((r) => r.state.runId)).toEqual([ids[3], ids[2]]);
    expect(history.summaries().map((s) => [s.runId, s.status])).toEqual(ids.toReversed().map((id) => [id, 'finished']));
    expect(history.read(ids[0]!)!.events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'node.started', 'node.finished', 'run.finished']);
  });

  it('a run that cannot be saved is reported, stays in memory, and the queue goes on', async () => {
    const { queue: q, data, history } = queue(100);
    rmSync(data.runs, { recursive: true });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const first = q.enqueue(constant(5)).state.runId;
      const second = q.enqueue(constant(6)).state.runId;
      await q.idle();
      expect(stderr).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`^Run ${first} could not be saved to the history: ENOENT`)));
      expect([first, second].map((id) => q.get(id)?.state.status)).toEqual(['finished', 'finished']);
      expect(history.summaries()).toEqual([]);
    } finally {
      stderr.mockRestore();
    }
  });

  it('saves a going run now and then, so a server that dies keeps its log; the next one shows it as stopped', async () => {
    const { queue: q, data } = queue(100, 30);
    const slow = graph([{ id: 'a', type: 'test/constant' }, { id: 's', type: 'test/slow', params: { steps: 60, stepMs: 10 } }], [['a', 'value', 's', 'a']]);
    const runId = q.enqueue(slow).state.runId;
    // What a process started now (after a crash of this one) would find on disk.
    const afterCrash = () => new RunHistory(data.runs);
    await expect.poll(() => afterCrash().read(runId)?.events.some((e) => e.type === 'node.finished'), { timeout: 30_000 }).toBe(true);
    expect(q.get(runId)!.state.status).toBe('running');
    const seen = afterCrash();
    expect(seen.summaries()[0]).toMatchObject({ status: 'failed', interrupted: 'running', error: 'The server stopped before this run ended: its log goes up to then' });
    const stopped = seen.read(runId)!;
    expect(stopped.events.at(-1)).toMatchObject({ type: 'run.failed', time: stopped.events.at(-2)!.time });
    expect(storedView(stopped).nodes).toEqual({ a: expect.objectContaining({ state: 'done' }) });

    await q.idle();
    expect(afterCrash().summaries()[0]).toMatchObject({ runId, status: 'finished' });
    expect(afterCrash().read(runId)!.events.at(-1)).toMatchObject({ type: 'run.finished' });
  });

  it('a closed queue leaves its runs on disk as they were: the next queue runs the queued ones, the running one is interrupted', async () => {
    const { queue: q, data } = queue(100);
    const slow = graph([{ id: 'a', type: 'test/constant' }, { id: 's', type: 'test/slow', params: { steps: 10_000, stepMs: 10 } }], [['a', 'value', 's', 'a']]);
    const started = new Promise<void>((resolve) => q.subscribe((e) => e.type === 'node.started' && e.nodeId === 's' && resolve()));
    const going = q.enqueue(slow).state.runId;
    const waiting = [await q.submit(constant(7)), await q.submit(constant(8))].map((a) => a.runId);
    await started;
    await q.close();
    expect(q.get(going)!.state.status).toBe('cancelled');

    const registry = testRegistry();
    const history = new RunHistory(data.runs);
    const next = new RunQueue({ executor: new Executor({ registry, data }), registry, data, history });
    expect(next.list().map((r) => [r.state.runId, r.state.status])).toEqual(waiting.toReversed().map((id) => [id, 'queued']));
    // Taken up, so not to be queued a second time (its record on disk still says interrupted until it starts).
    await expect(next.requeue(waiting[1]!)).rejects.toThrow('was not interrupted');
    await next.idle();
    expect(waiting.map((id) => [history.read(id)!.summary.status, history.read(id)!.summary.interrupted])).toEqual(waiting.map(() => ['finished', undefined]));
    // Stopped by the close, not cancelled by anyone: listed as interrupted, ready to be queued again.
    expect(history.read(going)!.summary).toMatchObject({ status: 'failed', interrupted: 'running' });
    expect((await next.requeue(going)).runId).not.toBe(going);
    await next.close();
    await expect(next.requeue(waiting[0]!)).rejects.toThrow('was not interrupted');
  });
});

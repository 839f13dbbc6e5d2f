import { rmSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Executor } from '../../runtime/executor.ts';
import { RunHistory, storedView } from '../../server/run-history.ts';
import { RunQueue } from '../../server/run-queue.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';

function queue(historyLimit: number, saveEveryMs?: number) {
  const data = tempData();
  const registry = testRegistry();
  const history = new RunHistory(data.runs);
  return { data, history, queue: new RunQueue({ executor: new Executor({ registry, data }), registry, data, history, historyLimit, saveEveryMs }) };
}

/** Distinct params, so no run is answered from the output cache. */
const constant = (value: number) => graph([{ id: 'c', type: 'test/constant', params: { value } }]);

describe('run queue and history', () => {
  it('keeps only the newest ended runs in memory; every ended run is saved', async () => {
    const { queue: q, history } = queue(2);
    const ids = [1, 2, 3, 4].map((v) => q.submit(constant(v)).state.runId);
    await q.idle();
    expect(q.list().map((r) => r.state.runId)).toEqual([ids[3], ids[2]]);
    expect(history.summaries().map((s) => [s.runId, s.status])).toEqual(ids.toReversed().map((id) => [id, 'finished']));
    expect(history.read(ids[0])!.events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'node.started', 'node.finished', 'run.finished']);
  });

  it('a run that cannot be saved is reported, stays in memory, and the queue goes on', async () => {
    const { queue: q, data, history } = queue(100);
    rmSync(data.runs, { recursive: true });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const first = q.submit(constant(5)).state.runId;
      const second = q.submit(constant(6)).state.runId;
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
    const runId = q.submit(slow).state.runId;
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
});

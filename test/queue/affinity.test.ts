// Cache affinity's busy count (issue 14): which runs keep a worker busy, from the stream and the workers'
// heartbeats. A run whose end never reached the stream must not keep its worker busy for good.
import { expect, it } from 'vitest';
import { newRun, reduceRun, type RunView } from '../../protocol/index.ts';
import { runsHeld } from '../../server/queue/affinity.ts';
import type { WorkerInfo } from '../../server/queue/redis-stream.ts';

const worker = (name: string, seen: number, running?: string[]): WorkerInfo => ({ name, seen, models: [], freeMemoryBytes: 0, concurrency: 1, running });
const queued = (runId: string): RunView => reduceRun(newRun(runId), { type: 'run.queued', runId, time: 100, position: 0 });
const going = (runId: string, startedAt: number): RunView => reduceRun(queued(runId), { type: 'run.started', runId, time: startedAt, nodes: [] });

it('counts queued runs and going ones the heartbeat lists or that started after it, not those it no longer lists', () => {
  const workers = [worker('A', 1000, ['a-listed']), worker('B', 1000, [])];
  const held = runsHeld(
    [
      { worker: 'A', state: queued('a-queued') },
      { worker: 'A', state: going('a-listed', 900) },
      { worker: 'A', state: going('a-new', 1500) },
      // Started before B's last heartbeat, which does not list it: its end was lost.
      { worker: 'B', state: going('b-lost', 900) },
    ],
    workers,
  );
  expect(Object.fromEntries(held)).toEqual({ A: 3 });
});

it('counts every going run of a worker whose heartbeat does not list its runs (an older worker)', () => {
  expect(Object.fromEntries(runsHeld([{ worker: 'A', state: going('a', 900) }, { worker: 'A', state: undefined }], [worker('A', 1000)]))).toEqual({ A: 2 });
});

// Item (issue 14, faults): a Redis run whose end never reaches the event stream (the worker's append was
// lost or refused, or its job left the queue) is ended by the server from the job's state in BullMQ, once,
// for every watcher; an end that comes late after that is dropped. Real redis-server; the worker runs in
// this process, where its appends of run ends are intercepted.
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../protocol/index.ts';
import { LOST_END } from '../../server/queue/lost-ends.ts';
import { connectionOptions, RUNS_QUEUE } from '../../server/queue/redis-stream.ts';
import { givenUp, WORKER_LOG } from '../../server/queue/redis-worker.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startWorker } from '../../server/worker.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { runEnded, runEvents, submit, watchEvents } from '../helpers/run-client.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { tempDir } from '../helpers/temp.ts';

/** What happens to each next run end appended for a run: lost, refused by "Redis", or held until released. */
const ends = vi.hoisted(() => ({ fate: new Map<string, ('lose' | 'refuse' | 'hold')[]>(), held: [] as (() => void)[] }));
vi.mock('../../server/queue/redis-stream.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../server/queue/redis-stream.ts')>();
  const appendEvent: typeof real.appendEvent = (redis, event, ...rest) => {
    const isEnd = event.type === 'run.finished' || event.type === 'run.failed' || event.type === 'run.cancelled';
    const fate = isEnd ? ends.fate.get(event.runId)?.shift() : undefined;
    if (fate === 'lose') return Promise.resolve(null);
    if (fate === 'refuse') return Promise.reject(new Error('XADD refused'));
    if (fate === 'hold') return new Promise((resolve, reject) => ends.held.push(() => void real.appendEvent(redis, event, ...rest).then(resolve, reject)));
    return real.appendEvent(redis, event, ...rest);
  };
  return { ...real, appendEvent };
});

const LONG = 240_000;
const started: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of started.splice(0).reverse()) await stop();
});

async function setUp(): Promise<{ url: string; s: RunningServer; startWorkerA: () => Promise<void> }> {
  const r = await startRedis();
  started.push(r.stop);
  const s = await startServer({ port: 0, dataDir: tempDir('redis-server'), registry: testRegistry(), redis: r.url, editorDir: false });
  started.push(s.close);
  const startWorkerA = async () => {
    const w = await startWorker({ redis: r.url, dataDir: tempDir('worker-A'), registry: testRegistry(), cacheBytes: 0, name: 'A' });
    started.push(w.close);
  };
  return { url: r.url, s, startWorkerA };
}

const quick = (value: number) => graph([{ id: 'c', type: 'test/constant', params: { value } }]);
const endOf = (runId: string) => (e: RunEvent) => e.runId === runId && runEnded(e);
const detail = async (url: string, runId: string) => (await (await fetch(`${url}/api/runs/${runId}`)).json()) as { status: string; error?: string; nodes: Record<string, { state: string }> };
const messages = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'log' ? [e.message] : []));

describe('Redis runs whose end is lost', () => {
  it("a run whose worker's end was lost ends as its job's result, said once with two servers; a normal run beside it ends once", { timeout: LONG }, async () => {
    const { url, s, startWorkerA } = await setUp();
    // A second server checks the same runs: whichever ends the run first, the other's log line and end are dropped.
    const s2 = await startServer({ port: 0, dataDir: tempDir('redis-server-2'), registry: testRegistry(), redis: url, editorDir: false });
    started.push(s2.close);
    const watcher2 = await watchEvents(s2.url);
    const watcher = await watchEvents(s.url);
    // Queued before any worker is up, so the run's end is marked to be lost before a worker can send it.
    const lost = await submit(s.url, quick(1));
    ends.fate.set(lost, ['lose']);
    const normal = await submit(s.url, quick(2));
    await startWorkerA();

    const end = await watcher.until(endOf(lost));
    expect(end.type).toBe('run.finished');
    expect((await detail(s.url, lost)).status).toBe('finished');
    expect((await runEvents(s.url, lost)).map((e) => e.type)).toEqual(['run.queued', 'run.started', 'log', 'node.started', 'node.finished', 'log', 'run.finished']);
    await watcher2.until(endOf(lost));
    for (const server of [s, s2]) expect(messages(await runEvents(server.url, lost))).toEqual([`${WORKER_LOG}A`, `${LOST_END}: ended by the server as its job completed`]);
    // The normal run ended earlier (same worker, queued after): by now a check has seen it ended too.
    expect(messages(await runEvents(s.url, normal))).toEqual([`${WORKER_LOG}A`]);
    for (const id of [lost, normal]) expect(watcher.seen.filter(endOf(id))).toHaveLength(1);
    watcher.close();
    watcher2.close();
  });

  it("a job failed with its end refused ends failed with BullMQ's reason, and the worker's late end is dropped; a job gone from the queue ends failed", { timeout: LONG }, async () => {
    const { url, s, startWorkerA } = await setUp();
    const watcher = await watchEvents(s.url);
    // Taken off the queue behind the server's back (as a Redis that lost it would).
    const gone = await submit(s.url, quick(1));
    const queue = new Queue(RUNS_QUEUE, { connection: connectionOptions(url) });
    started.push(() => queue.close());
    expect(await queue.remove(gone)).toBe(1);
    // The worker's end is refused (its job fails with that reason), then its failed-job end is held back.
    const refused = await submit(s.url, quick(2));
    ends.fate.set(refused, ['refuse', 'hold']);
    await startWorkerA();

    expect(await watcher.until(endOf(gone))).toMatchObject({ type: 'run.failed', message: `${LOST_END}; its job is no longer in the queue: run its graph again` });
    expect((await runEvents(s.url, gone)).map((e) => e.type)).toEqual(['run.queued', 'run.failed']);
    expect(await watcher.until(endOf(refused))).toMatchObject({ type: 'run.failed', message: givenUp('XADD refused') });
    // Its earlier log and node results are kept.
    expect(messages(await runEvents(s.url, refused))).toEqual([`${WORKER_LOG}A`, `${LOST_END}: ended by the server as its job failed`]);
    expect(await detail(s.url, refused)).toMatchObject({ status: 'failed', error: givenUp('XADD refused'), nodes: { c: { state: 'done' } } });

    // The worker's own end now arrives late; a run queued after it ends after it in the stream.
    expect(ends.held).toHaveLength(1);
    ends.held.pop()!();
    const after = await submit(s.url, quick(3));
    expect((await watcher.until(endOf(after))).type).toBe('run.finished');
    expect(watcher.seen.filter(endOf(refused))).toHaveLength(1);
    expect((await runEvents(s.url, refused)).filter(runEnded)).toHaveLength(1);
    expect(messages(await runEvents(s.url, refused))).toContain(`${LOST_END}: ended by the server as its job failed`);
    watcher.close();
  });
});

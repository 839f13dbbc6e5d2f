// Items (issue 14): with the Redis engine nothing accepted is lost when a worker is killed mid-run, when
// the server restarts with runs queued, or when Redis restarts (AOF on); cancel reaches the worker.
// Real redis-server, real worker processes (kill -9), the test nodes.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../protocol/index.ts';
import { cancelKey, connect, connectionOptions, RUNS_QUEUE, workerQueue } from '../../server/queue/redis-stream.ts';
import { WORKER_LOG, type RunJob } from '../../server/queue/redis-worker.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { startWorker } from '../../server/worker.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { runEnded, runEvents, submit, watchEvents } from '../helpers/run-client.ts';
import { spawnWorker, type ChildWorker } from '../helpers/spawn-server.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { tempDir } from '../helpers/temp.ts';

const LONG = 240_000;
/** Stopped after each test, last started first. */
const started: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of started.splice(0).reverse()) await stop();
});

async function redis(): Promise<TestRedis> {
  const r = await startRedis();
  started.push(r.stop);
  return r;
}

async function server(redisUrl: string, dataDir = tempDir('redis-server')): Promise<RunningServer> {
  const s = await startServer({ port: 0, dataDir, registry: testRegistry(), redis: redisUrl, editorDir: false });
  started.push(s.close);
  return s;
}

async function worker(redisUrl: string, name: string) {
  const w = await startWorker({ redis: redisUrl, dataDir: tempDir(`worker-${name}`), registry: testRegistry(), cacheBytes: 0, name });
  started.push(w.close);
  return w;
}

async function childWorker(redisUrl: string, name: string): Promise<ChildWorker> {
  // A short lock: a killed worker's run is found stalled within seconds, not BullMQ's default 30 s.
  const w = await spawnWorker(redisUrl, tempDir(`worker-${name}`), name, ['--lock-ms', '2000']);
  started.push(() => w.kill());
  return w;
}

const slow = (steps: number, stepMs: number) =>
  graph([{ id: 'a', type: 'test/constant' }, { id: 's', type: 'test/slow', params: { steps, stepMs } }], [['a', 'value', 's', 'a']]);
const quick = (value: number) => graph([{ id: 'c', type: 'test/constant', params: { value } }]);
const ends = (runId: string) => (e: RunEvent) => e.runId === runId && runEnded(e);
const statusOf = async (url: string, runId: string) => ((await (await fetch(`${url}/api/runs/${runId}`)).json()) as { status: string }).status;

describe('Redis engine faults', () => {
  it('a worker killed (SIGKILL) mid-run: the run is run again from the start on the other and finishes', { timeout: LONG }, async () => {
    const r = await redis();
    const workers = new Map([['A', await childWorker(r.url, 'A')], ['B', await childWorker(r.url, 'B')]]);
    const s = await server(r.url);
    const watcher = await watchEvents(s.url);
    // About 10 s of work on a free machine: long enough that the kill lands mid-run.
    const runId = await submit(s.url, slow(500, 20));
    const taken = await watcher.until((e) => e.runId === runId && e.type === 'log' && e.message.startsWith(WORKER_LOG));
    const first = (taken as { message: string }).message.slice(WORKER_LOG.length);
    await watcher.until((e) => e.runId === runId && e.type === 'node.started' && e.nodeId === 's');
    await workers.get(first)!.kill();

    const end = await watcher.until(ends(runId));
    expect(end.type).toBe('run.finished');
    const other = first === 'A' ? 'B' : 'A';
    const events = await runEvents(s.url, runId);
    expect(events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message)).toEqual([
      `${WORKER_LOG}${first}`,
      `Run again from the start on worker ${other}: the worker running it stopped`,
      `${WORKER_LOG}${other}`,
    ]);
    expect(events.filter((e) => e.type === 'node.finished' && e.nodeId === 's')).toHaveLength(1);
    watcher.close();
  });

  it('a run whose worker is killed twice ends failed, saying so', { timeout: LONG }, async () => {
    const r = await redis();
    const s = await server(r.url);
    const watcher = await watchEvents(s.url);
    const runId = await submit(s.url, slow(500, 20));
    // One worker at a time takes it; a third one only watches for stalled runs after the second is killed.
    const takenBy = async (name: string) => {
      await watcher.until((e) => e.runId === runId && e.type === 'log' && e.message === `${WORKER_LOG}${name}`);
    };
    const a = await childWorker(r.url, 'A');
    await takenBy('A');
    await a.kill();
    const b = await childWorker(r.url, 'B');
    await takenBy('B');
    await b.kill();
    await childWorker(r.url, 'C');
    const end = await watcher.until(ends(runId));
    expect(end).toMatchObject({ type: 'run.failed', message: 'The run was given up (job stalled more than allowable limit): run its graph again' });
    expect(await statusOf(s.url, runId)).toBe('failed');
    expect((await runEvents(s.url, runId)).filter((e) => e.type === 'run.failed')).toHaveLength(1);
    watcher.close();
  });

  it('the server stopped with runs queued: the next server on its data folder sees them run', { timeout: LONG }, async () => {
    const r = await redis();
    const dataDir = tempDir('redis-server');
    const first = await server(r.url, dataDir);
    const ids = [await submit(first.url, quick(1)), await submit(first.url, quick(2)), await submit(first.url, quick(3))];
    await first.close();
    started.splice(started.indexOf(first.close), 1);

    const second = await server(r.url, dataDir);
    const watcher = await watchEvents(second.url);
    // Listed at once, as queued (not interrupted): Redis still holds them.
    for (const id of ids) expect(await statusOf(second.url, id)).toBe('queued');
    await worker(r.url, 'A');
    for (const id of ids) expect((await watcher.until(ends(id))).type).toBe('run.finished');
    for (const id of ids) expect((await runEvents(second.url, id)).map((e) => e.type)).toEqual(['run.queued', 'run.started', 'log', 'node.started', 'node.finished', 'run.finished']);
    watcher.close();
  });

  it('Redis killed (SIGKILL) and restarted with AOF: every accepted run still runs', { timeout: LONG }, async () => {
    const r = await redis();
    const s = await server(r.url);
    const watcher = await watchEvents(s.url);
    const ids = [await submit(s.url, quick(1)), await submit(s.url, quick(2)), await submit(s.url, quick(3))];
    await r.kill();
    await r.restart();
    await worker(r.url, 'A');
    for (const id of ids) expect((await watcher.until(ends(id))).type).toBe('run.finished');
    watcher.close();
  });

  it('a Redis with a password: runs go through with it in the URL; without it, start fails saying why', { timeout: LONG }, async () => {
    const r = await startRedis(['--requirepass', 'test-secret']);
    started.push(r.stop);
    const url = r.url.replace('redis://', 'redis://:test-secret@');
    await expect(startWorker({ redis: r.url, dataDir: tempDir('worker-nopass'), registry: testRegistry() })).rejects.toThrow(/Redis cannot be reached at the --redis URL: NOAUTH/);
    const s = await server(url);
    await worker(url, 'A');
    const watcher = await watchEvents(s.url);
    const id = await submit(s.url, quick(1));
    expect((await watcher.until(ends(id))).type).toBe('run.finished');
    watcher.close();
  });

  it('cancel reaches the worker running the run, and takes a waiting run off the queue', { timeout: LONG }, async () => {
    const r = await redis();
    const s = await server(r.url);
    await worker(r.url, 'A');
    const watcher = await watchEvents(s.url);
    const running = await submit(s.url, slow(10_000, 20));
    const waiting = await submit(s.url, slow(10_000, 20));
    await watcher.until((e) => e.runId === running && e.type === 'node.started' && e.nodeId === 's');

    expect(await (await fetch(`${s.url}/api/runs/${waiting}/cancel`, { method: 'POST' })).json()).toEqual({ ok: true });
    expect((await watcher.until(ends(waiting))).type).toBe('run.cancelled');
    expect(await (await fetch(`${s.url}/api/runs/${running}/cancel`, { method: 'POST' })).json()).toEqual({ ok: true });
    expect((await watcher.until(ends(running))).type).toBe('run.cancelled');
    // The worker stopped the slow node mid-way (it never finished) and never took the waiting run.
    const events = await runEvents(s.url, running);
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'log', 'node.started', 'node.finished', 'node.started', 'run.cancelled']);
    expect((events.at(-1) as { durationMs: number }).durationMs).toBeGreaterThan(0);
    expect((await runEvents(s.url, waiting)).map((e) => e.type)).toEqual(['run.queued', 'run.cancelled']);
    // The worker is free again.
    const next = await submit(s.url, quick(1));
    expect((await watcher.until(ends(next))).type).toBe('run.finished');
    watcher.close();
  });

  it('a run cancelled while the worker holding it was dead: the worker that takes it up ends it cancelled', { timeout: LONG }, async () => {
    const r = await redis();
    const s = await server(r.url);
    const watcher = await watchEvents(s.url);
    // As a cancel leaves a run whose worker died: flagged, and back in the queue (BullMQ's stalled check).
    const queue = new Queue<RunJob>(RUNS_QUEUE, { connection: connectionOptions(r.url) });
    started.push(() => queue.close());
    const runId = randomUUID();
    const client = connect(r.url);
    started.push(async () => void (await client.quit()));
    await client.set(cancelKey(runId), '1');
    await queue.add('run', { graph: quick(3) }, { jobId: runId });
    // Started after the cancel was said: it knows of it from the flag.
    await worker(r.url, 'A');
    expect((await watcher.until(ends(runId))).type).toBe('run.cancelled');
    expect((await runEvents(s.url, runId)).map((e) => e.type)).not.toContain('run.started');
    const next = await submit(s.url, quick(1));
    expect((await watcher.until(ends(next))).type).toBe('run.finished');
    watcher.close();
  });

  it('a worker that left: another one takes its queue over, runs what waits there, then lets the queue go', { timeout: LONG }, async () => {
    const r = await redis();
    const a = await startWorker({ redis: r.url, dataDir: tempDir('worker-A'), registry: testRegistry(), cacheBytes: 0, name: 'A' });
    await worker(r.url, 'B');
    const s = await server(r.url);
    const watcher = await watchEvents(s.url);
    await a.close();
    // A run sent to A for its cache just before it stopped.
    const left = new Queue<RunJob>(workerQueue('A'), { connection: connectionOptions(r.url) });
    started.push(() => left.close());
    const runId = randomUUID();
    await left.add('run', { graph: quick(4) }, { jobId: runId });
    expect((await watcher.until(ends(runId))).type).toBe('run.finished');
    expect((await runEvents(s.url, runId)).some((e) => e.type === 'log' && e.message === `${WORKER_LOG}B`)).toBe(true);
    expect((await left.getWorkers()).length).toBeGreaterThan(0);
    // Empty now: B stops listening to it at a next heartbeat (BullMQ names its workers' connections by queue).
    while ((await left.getWorkers()).length) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await left.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
    watcher.close();
  });
});

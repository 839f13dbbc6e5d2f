// Items (issue 14): cache affinity on the Redis engine. A run of a graph that differs in one param from an
// earlier one goes to the worker whose cache holds its upstream results, and hits it; when that worker is
// busy the run goes to another one. Real redis-server, two workers, one server.
import { Queue } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import type { RunEvent } from '../../protocol/index.ts';
import { RUNS_QUEUE, workerQueue } from '../../server/queue/redis-stream.ts';
import { WORKER_LOG } from '../../server/queue/redis-worker.ts';
import { startServer } from '../../server/app.ts';
import { startWorker } from '../../server/worker.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { runEnded, runEvents, submit, watchEvents } from '../helpers/run-client.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

const started: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of started.reverse()) await stop();
  removeTempDirs();
});

const runBy = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'log' && e.message.startsWith(WORKER_LOG) ? [e.message.slice(WORKER_LOG.length)] : []));

// load -> resize(width) -> preview: changing the width leaves the load node's result reusable.
const photos = (width: number) =>
  graph(
    [
      { id: 'load', type: 'image/load-images', params: { path: 'samples', limit: 2 } },
      { id: 'resize', type: 'image/resize', params: { width, height: 40, fit: 'cover' } },
    ],
    [['load', 'images', 'resize', 'images']],
  );
const slow = (steps: number) =>
  graph(
    [
      { id: 'c', type: 'test/constant', params: { value: 5 } },
      { id: 's', type: 'test/slow', params: { steps, stepMs: 20 } },
    ],
    [['c', 'value', 's', 'a']],
  );

it('affinity: a changed run goes to the worker caching its upstream, or to another when that one is busy', { timeout: 240_000 }, async () => {
  const redis = await startRedis();
  started.push(redis.stop);
  for (const name of ['A', 'B']) {
    const w = await startWorker({ redis: redis.url, dataDir: tempDir(`worker-${name}`), registry: testRegistry(), name });
    started.push(w.close);
  }
  const one = await startServer({ port: 0, dataDir: tempDir('server-1'), registry: testRegistry(), redis: redis.url, editorDir: false });
  started.push(one.close);
  const watcher = await watchEvents(one.url);
  const ended = async (id: string) => expect((await watcher.until((e) => e.runId === id && runEnded(e))).type).toBe('run.finished');

  // Runs in turn: whichever worker takes the first, every next one (another width each time) goes to it and
  // takes the load node from its cache, though the other worker is idle.
  const first = await submit(one.url, photos(32));
  await ended(first);
  const [holder] = runBy(await runEvents(one.url, first));
  expect(['A', 'B']).toContain(holder);
  for (const width of [48, 64, 80]) {
    const id = await submit(one.url, photos(width));
    await ended(id);
    const events = await runEvents(one.url, id);
    expect(runBy(events)).toEqual([holder]);
    expect(events.some((e) => e.type === 'node.cached' && e.nodeId === 'load')).toBe(true);
    expect(events.some((e) => e.type === 'node.started' && e.nodeId === 'resize')).toBe(true);
  }

  // The holder busy with a long run (sent to it by its cache too): the next changed run goes to the other.
  const warm = await submit(one.url, slow(5));
  await ended(warm);
  const [slowHolder] = runBy(await runEvents(one.url, warm));
  const long = await submit(one.url, slow(400));
  await watcher.until((e) => e.runId === long && e.type === 'node.started' && e.nodeId === 's');
  expect(runBy(await runEvents(one.url, long))).toEqual([slowHolder]);
  const spread = await submit(one.url, slow(6));
  await ended(spread);
  expect(runBy(await runEvents(one.url, spread))).toEqual([slowHolder === 'A' ? 'B' : 'A']);
  await fetch(`${one.url}/api/runs/${long}/cancel`, { method: 'POST' });
  await watcher.until((e) => e.runId === long && runEnded(e));

  watcher.close();
});

it('affinity: with one worker a run goes to the shared queue, looked up in no cache notes, and still hits its cache', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  started.push(redis.stop);
  const worker = await startWorker({ redis: redis.url, dataDir: tempDir('worker-solo'), registry: testRegistry(), name: 'solo' });
  started.push(worker.close);
  const server = await startServer({ port: 0, dataDir: tempDir('server-solo'), registry: testRegistry(), redis: redis.url, editorDir: false });
  started.push(server.close);
  const watcher = await watchEvents(server.url);
  const ids: string[] = [];
  for (const width of [32, 48]) {
    const id = await submit(server.url, photos(width));
    expect((await watcher.until((e) => e.runId === id && runEnded(e))).type).toBe('run.finished');
    ids.push(id);
  }
  watcher.close();
  expect((await runEvents(server.url, ids[1]!)).some((e) => e.type === 'node.cached' && e.nodeId === 'load')).toBe(true);
  const shared = new Queue(RUNS_QUEUE, { connection: { url: redis.url } });
  const own = new Queue(workerQueue('solo'), { connection: { url: redis.url } });
  try {
    for (const id of ids) {
      expect((await shared.getJob(id))?.id).toBe(id);
      expect(await own.getJob(id)).toBeUndefined();
    }
  } finally {
    await shared.close();
    await own.close();
  }
});

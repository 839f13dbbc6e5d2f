// Items (issue 14): cache affinity and outputs on the Redis engine. A run of a graph that differs in one
// param from an earlier one goes to the worker whose cache holds its upstream results, and hits it; when
// that worker is busy the run goes to another one. A run's full-size outputs are served by any server
// (the worker writes them under the shared data/output). Real redis-server, two workers, two servers.
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import type { RunDetail, RunEvent } from '../../protocol/index.ts';
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

/** A data folder whose output folder is the shared one (as an NFS mount of data/output would be). */
function dataWithSharedOutput(label: string, shared: string): string {
  const dir = tempDir(label);
  symlinkSync(shared, path.join(dir, 'output'));
  return dir;
}

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

it('affinity: a changed run goes to the worker caching its upstream, or to another when that one is busy; outputs from any server', { timeout: 240_000 }, async () => {
  const redis = await startRedis();
  started.push(redis.stop);
  const shared = tempDir('shared-output');
  mkdirSync(shared, { recursive: true });
  for (const name of ['A', 'B']) {
    const w = await startWorker({ redis: redis.url, dataDir: dataWithSharedOutput(`worker-${name}`, shared), registry: testRegistry(), name });
    started.push(w.close);
  }
  const servers = [];
  for (const label of ['server-1', 'server-2']) {
    const s = await startServer({ port: 0, dataDir: dataWithSharedOutput(label, shared), registry: testRegistry(), redis: redis.url, editorDir: false });
    started.push(s.close);
    servers.push(s);
  }
  const [one, two] = servers;
  const watcher = await watchEvents(one!.url);
  const ended = async (id: string) => expect((await watcher.until((e) => e.runId === id && runEnded(e))).type).toBe('run.finished');

  // Runs in turn: whichever worker takes the first, every next one (another width each time) goes to it and
  // takes the load node from its cache, though the other worker is idle.
  const first = await submit(one!.url, photos(32));
  await ended(first);
  const [holder] = runBy(await runEvents(one!.url, first));
  expect(['A', 'B']).toContain(holder);
  for (const width of [48, 64, 80]) {
    const id = await submit(one!.url, photos(width));
    await ended(id);
    const events = await runEvents(one!.url, id);
    expect(runBy(events)).toEqual([holder]);
    expect(events.some((e) => e.type === 'node.cached' && e.nodeId === 'load')).toBe(true);
    expect(events.some((e) => e.type === 'node.started' && e.nodeId === 'resize')).toBe(true);
  }

  // The holder busy with a long run (sent to it by its cache too): the next changed run goes to the other.
  const warm = await submit(one!.url, slow(5));
  await ended(warm);
  const [slowHolder] = runBy(await runEvents(one!.url, warm));
  const long = await submit(one!.url, slow(400));
  await watcher.until((e) => e.runId === long && e.type === 'node.started' && e.nodeId === 's');
  expect(runBy(await runEvents(one!.url, long))).toEqual([slowHolder]);
  const spread = await submit(one!.url, slow(6));
  await ended(spread);
  expect(runBy(await runEvents(one!.url, spread))).toEqual([slowHolder === 'A' ? 'B' : 'A']);
  await fetch(`${one!.url}/api/runs/${long}/cancel`, { method: 'POST' });
  await watcher.until((e) => e.runId === long && runEnded(e));

  // Outputs: the other server (which did not accept the run) serves them, full size, as PNG.
  const last = await submit(one!.url, photos(80));
  await ended(last);
  const detail = (await (await fetch(`${two!.url}/api/runs/${last}`)).json()) as RunDetail;
  expect(detail.nodes.resize!.images).toEqual({ images: 2 });
  for (const server of [one, two]) {
    const res = await fetch(`${server!.url}/api/runs/${last}/outputs/resize/images/1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([80, 40]);
  }
  expect((await fetch(`${two!.url}/api/runs/${last}/outputs/resize/images/2`)).status).toBe(404);
  expect((await fetch(`${two!.url}/api/runs/${last}/outputs/nothing/images/0`)).status).toBe(404);
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

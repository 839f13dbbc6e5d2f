// A Redis run's full-size outputs (issue 14): kept in the memory of the worker that ran it and fetched
// from it by whichever server a client asks, pixel for pixel what the embedded engine serves for the same
// graph; no shared folder between worker and servers. Unknown images are 404; a run beyond the worker's
// last KEPT_OUTPUT_RUNS, or whose worker stopped, is 410 with the reason. Real redis-server, one worker, two servers.
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import type { RunDetail } from '../../protocol/index.ts';
import { startServer } from '../../server/app.ts';
import { KEPT_OUTPUT_RUNS } from '../../server/queue/engine.ts';
import { startWorker } from '../../server/worker.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { runEnded, submit, watchEvents } from '../helpers/run-client.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

const started: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of started.reverse()) await stop();
  removeTempDirs();
});

const photos = (width: number) =>
  graph(
    [
      { id: 'load', type: 'image/load-images', params: { path: 'samples', limit: 2 } },
      { id: 'resize', type: 'image/resize', params: { width, height: 40, fit: 'cover' } },
    ],
    [['load', 'images', 'resize', 'images']],
  );

/** Runs a graph through a server; its run id once it has finished. */
const ran = async (url: string, g: unknown) => {
  const watcher = await watchEvents(url);
  const id = await submit(url, g);
  expect((await watcher.until((e) => e.runId === id && runEnded(e))).type).toBe('run.finished');
  watcher.close();
  return id;
};

const pixels = async (res: Response) => {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
  return sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
};

it('serves a worker-run output from any server as the embedded engine does; 404 and 410 say why', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  started.push(redis.stop);
  const worker = await startWorker({ redis: redis.url, dataDir: tempDir('outputs-worker'), registry: testRegistry(), name: 'A' });
  let workerUp = true;
  started.push(async () => void (workerUp && (await worker.close())));
  const server = async (dataDir: string) => {
    const s = await startServer({ port: 0, dataDir, registry: testRegistry(), redis: redis.url, editorDir: false });
    let up = true;
    started.push(async () => void (up && (await s.close())));
    return { url: s.url, stop: async () => void ((up = false), await s.close()) };
  };
  const one = await server(tempDir('outputs-server-1'));
  const twoDir = tempDir('outputs-server-2');
  let two = await server(twoDir);
  const embedded = await startServer({ port: 0, dataDir: tempDir('outputs-embedded'), registry: testRegistry(), editorDir: false });
  started.push(embedded.close);

  const first = await ran(one.url, photos(80));
  const reference = await ran(embedded.url, photos(80));

  // The server that did not accept the run counts its images and fetches them from the worker.
  const images = async (url: string, id: string) => Object.fromEntries(Object.entries(((await (await fetch(`${url}/api/runs/${id}`)).json()) as RunDetail).nodes).map(([node, n]) => [node, n.images]));
  expect(await images(two.url, first)).toEqual(await images(embedded.url, reference));
  expect((await images(two.url, first)).resize).toEqual({ images: 2 });
  for (const i of [0, 1]) {
    const expected = await pixels(await fetch(`${embedded.url}/api/runs/${reference}/outputs/resize/images/${i}`));
    expect([expected.info.width, expected.info.height]).toEqual([80, 40]);
    for (const server of [one, two]) {
      const got = await pixels(await fetch(`${server.url}/api/runs/${first}/outputs/resize/images/${i}`));
      expect(got.info).toEqual(expected.info);
      expect(got.data.equals(expected.data)).toBe(true);
    }
  }
  for (const at of ['resize/images/2', 'resize/images/-1', 'resize/__proto__/0', 'nothing/images/0']) {
    const res = await fetch(`${two.url}/api/runs/${first}/outputs/${at}`);
    expect(res.status, at).toBe(404);
  }

  // The worker keeps its last KEPT_OUTPUT_RUNS runs' outputs: the first is dropped after that many more.
  for (let n = 0; n < KEPT_OUTPUT_RUNS; n++) await ran(one.url, photos(20 + n));
  const dropped = await fetch(`${two.url}/api/runs/${first}/outputs/resize/images/0`);
  expect(dropped.status).toBe(410);
  expect((await dropped.json()).error).toContain('Worker A no longer holds the outputs');
  const kept = await ran(one.url, photos(16));
  expect((await pixels(await fetch(`${two.url}/api/runs/${kept}/outputs/resize/images/0`))).info.width).toBe(16);

  // A restarted server knows from its records which worker keeps a run's outputs, and still asks it.
  await two.stop();
  two = await server(twoDir);
  expect((await images(two.url, kept)).resize).toEqual({ images: 2 });
  expect((await pixels(await fetch(`${two.url}/api/runs/${kept}/outputs/resize/images/1`))).info.width).toBe(16);

  // Its worker stopped: said at once, not after a wait.
  await worker.close();
  workerUp = false;
  const gone = await fetch(`${two.url}/api/runs/${kept}/outputs/resize/images/0`);
  expect(gone.status).toBe(410);
  expect((await gone.json()).error).toContain('Worker A, which ran run');
});

it('keeping no outputs (--keep-outputs 0): a finished run\'s images are 410, on a worker as embedded', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  started.push(redis.stop);
  const worker = await startWorker({ redis: redis.url, dataDir: tempDir('outputs-worker'), registry: testRegistry(), name: 'B', keptOutputRuns: 0 });
  started.push(worker.close);
  for (const opts of [{ redis: redis.url }, {}]) {
    const server = await startServer({ port: 0, dataDir: tempDir('outputs-server'), registry: testRegistry(), editorDir: false, keptOutputRuns: 0, ...opts });
    started.push(server.close);
    const id = await ran(server.url, photos(24));
    // A worker says what the run made (its end entry); the embedded engine counts what it holds: nothing.
    expect(((await (await fetch(`${server.url}/api/runs/${id}`)).json()) as RunDetail).nodes.resize?.images).toEqual(opts.redis ? { images: 2 } : undefined);
    const res = await fetch(`${server.url}/api/runs/${id}/outputs/resize/images/0`);
    expect(res.status).toBe(410);
    expect((await res.json()).error).toMatch(opts.redis ? /Worker B no longer holds the outputs/ : /were dropped from memory/);
  }
});

// Item (issue 14): many clients, many runs, more than one run at a time: every run ends and every watcher
// gets every event of every run (and each preview's binary frame), in the order the server recorded them.
// Written against the engine interface; each engine the server has is listed in `engines`.
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunEvent } from '../../protocol/index.ts';
import { decodePreviewFrame } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { tempDir } from '../helpers/temp.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { submit } from '../helpers/run-client.ts';
import { startWorker } from '../../server/worker.ts';
import { WORKER_LOG } from '../../server/queue/redis-worker.ts';

const RUNS_PER_CLIENT = 10;
const CLIENTS = 4;
const WATCHERS = 4;

/** What each test started, stopped in reverse order after the file. */
const started: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of started.reverse()) await stop();
});

/** `afterStart`: the events an engine adds after run.started; `runBy`: which worker ran a run, by its log. */
const engines: { name: string; afterStart: string[]; runBy?: (events: RunEvent[]) => string | undefined; start(dataDir: string): Promise<RunningServer> }[] = [
  { name: 'embedded, 2 runs at a time', afterStart: [], start: (dataDir) => startServer({ port: 0, dataDir, registry: testRegistry(), workers: 2, cacheBytes: 0, editorDir: false }) },
  {
    name: 'Redis, 1 server and 2 workers',
    afterStart: ['log'],
    runBy: (events) => events.flatMap((e) => (e.type === 'log' && e.message.startsWith(WORKER_LOG) ? [e.message.slice(WORKER_LOG.length)] : []))[0],
    start: async (dataDir) => {
      const redis = await startRedis();
      started.push(redis.stop);
      for (const name of ['A', 'B']) {
        const worker = await startWorker({ redis: redis.url, dataDir: tempDir(`worker-${name}`), registry: testRegistry(), cacheBytes: 0, name });
        started.push(worker.close);
      }
      return startServer({ port: 0, dataDir, registry: testRegistry(), redis: redis.url, editorDir: false });
    },
  },
];

/** Real image nodes on the demo photos (the cache is off: every node runs every time). */
const cheap = (width: number) =>
  graph(
    [
      { id: 'load', type: 'image/load-images', params: { path: 'samples', limit: 2 } },
      { id: 'resize', type: 'image/resize', params: { width, height: 48, fit: 'cover' } },
      { id: 'preview', type: 'image/preview' },
    ],
    [
      ['load', 'images', 'resize', 'images'],
      ['resize', 'images', 'preview', 'images'],
    ],
  );

interface Watcher {
  /** Per run: its events (progress ticks left out, as the record leaves them out) and preview frames. */
  runs: Map<string, { events: RunEvent[]; frames: number }>;
  ended: Set<string>;
  /**
   * Resolves once every run in `ids` has ended for this watcher, with a frame for each of its previews
   * (with Redis a preview's bytes travel apart from its event: the frame may come after the run's end).
   */
  allEnded(ids: string[]): Promise<void>;
  close(): void;
}

async function watch(url: string): Promise<Watcher> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const runs: Watcher['runs'] = new Map();
  const ended = new Set<string>();
  const waiters: (() => void)[] = [];
  const of = (runId: string) => runs.get(runId) ?? runs.set(runId, { events: [], frames: 0 }).get(runId)!;
  ws.on('message', (data, isBinary) => {
    if (isBinary) of(decodePreviewFrame(new Uint8Array(data as Buffer)).header.runId).frames++;
    else {
      const e = JSON.parse(data.toString()) as RunEvent | { type: 'hello' };
      if (e.type === 'hello' || e.type === 'node.progress') return;
      of(e.runId).events.push(e);
      if (e.type === 'run.finished' || e.type === 'run.failed' || e.type === 'run.cancelled') ended.add(e.runId);
    }
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve) => ws.once('message', resolve));
  return {
    runs,
    ended,
    allEnded: (ids) =>
      new Promise<void>((resolve) => {
        const complete = (id: string) => ended.has(id) && runs.get(id)!.frames >= runs.get(id)!.events.filter((e) => e.type === 'node.preview').length;
        const check = () => (ids.every(complete) ? resolve() : waiters.push(check));
        check();
      }),
    close: () => ws.close(),
  };
}

describe.each(engines)('queue engine: $name', ({ start, afterStart, runBy }) => {
  it(`${CLIENTS * RUNS_PER_CLIENT} runs from ${CLIENTS} clients: every run ends, every watcher gets every event`, async () => {
    const server = await start(tempDir('queue-load'));
    started.push(server.close);
    const watchers = await Promise.all(Array.from({ length: WATCHERS }, () => watch(server.url)));
    // Each client submits its runs one after the other; the clients go at the same time.
    const perClient = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const ids: string[] = [];
        for (let i = 0; i < RUNS_PER_CLIENT; i++) ids.push(await submit(server.url, cheap(32 + c * RUNS_PER_CLIENT + i)));
        return ids;
      }),
    );
    const ids = perClient.flat();
    expect(new Set(ids).size).toBe(CLIENTS * RUNS_PER_CLIENT);
    await Promise.all(watchers.map((w) => w.allEnded(ids)));

    const workersUsed = new Set<string | undefined>();
    for (const id of ids) {
      const recorded = (await (await fetch(`${server.url}/api/runs/${id}/events`)).json()) as RunEvent[];
      // Each node previews both photos: one event (and one binary frame) per image.
      const node = ['node.started', 'node.preview', 'node.preview', 'node.finished'];
      expect(recorded.map((e) => e.type)).toEqual(['run.queued', 'run.started', ...afterStart, ...node, ...node, ...node, 'run.finished']);
      if (runBy) workersUsed.add(runBy(recorded));
      for (const w of watchers) {
        expect(w.runs.get(id)!.events).toEqual(recorded);
        expect(w.runs.get(id)!.frames).toBe(recorded.filter((e) => e.type === 'node.preview').length);
      }
    }
    // Both workers took runs (40 runs, 2 workers: one alone would mean the other never worked).
    if (runBy) expect([...workersUsed].sort()).toEqual(['A', 'B']);
    for (const w of watchers) w.close();
  });
});

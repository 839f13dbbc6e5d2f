// Soak (opt-in: `npm run bench -- soak`): a server in its own process under many clients, then killed with
// SIGKILL during runs and restarted, ten times. Reports runs accepted vs accounted for (goal: all), the
// server's RSS before and after the load (goal: back within 10 %), and p50/p95 queue latency (run.queued
// to run.started, server clock). Cheap graphs (one demo photo resized), so it takes a few minutes.
// opt-in: 500 runs and ten kill -9 / restart cycles take several minutes
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { RunEvent } from '../protocol/index.ts';
import { spawnServer, type ChildServer } from '../test/helpers/spawn-server.ts';
import { removeTempDirs, tempDir } from '../test/helpers/temp.ts';

const RUNS = 500;
const CLIENTS = 20;
const WATCHERS = 20;
const DROPPING = 50;
const CYCLES = 10;
const RUNS_PER_CYCLE = 8;
/**
 * Runs before the "before" figure, so what the server keeps by design is full by then: the last 100 runs
 * in memory, the last 10 runs' outputs, and the output cache, given 8 MiB here (it holds 2 GiB by default).
 */
const WARM_UP = 120;
const SERVER_ARGS = ['--cache-mb', '8'];

/** Distinct widths so runs miss the output cache (a run then loads, resizes and previews). */
const cheap = (i: number, photos = 1) => ({
  format: 'facechain-graph',
  version: 1,
  name: `soak ${i}`,
  nodes: [
    { id: 'load', type: 'image/load-images', params: { path: 'samples', limit: photos } },
    { id: 'resize', type: 'image/resize', params: { width: 64 + (i % 900), height: 64 } },
    { id: 'show', type: 'image/preview' },
  ],
  edges: [
    { from: { node: 'load', port: 'images' }, to: { node: 'resize', port: 'images' } },
    { from: { node: 'resize', port: 'images' }, to: { node: 'show', port: 'images' } },
  ],
});

const rssMb = (s: ChildServer) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${s.child.pid}/status`, 'utf8'))![1]) / 1024;

async function submit(url: string, graph: unknown): Promise<string> {
  const res = await fetch(`${url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph }) });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { runId: string }).runId;
}

/** A client of the event stream (all runs, or one); `on` sees every event, with the socket. */
function watcher(url: string, on: (e: RunEvent, ws: WebSocket) => void, runId?: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws${runId ? `?runId=${runId}` : ''}`);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) on(JSON.parse(data.toString()), ws);
  });
  ws.on('error', () => {});
  return new Promise((resolve) => ws.once('open', () => resolve(ws)));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const ENDED = new Set(['run.finished', 'run.failed', 'run.cancelled']);
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** 500 runs from 20 clients with 20 watchers, 50 of the clients dropping mid-run. */
async function loadRound(url: string, offset: number) {
  const queuedAt = new Map<string, number>();
  const latency: number[] = [];
  const ended = new Set<string>();
  const allEnded = deferred();
  const accepted: string[] = [];
  const watchers = await Promise.all(
    Array.from({ length: WATCHERS }, (_, i) =>
      watcher(url, (e) => {
        if (i !== 0) return; // all 20 receive every event; one keeps the books
        if (e.type === 'run.queued') queuedAt.set(e.runId, e.time);
        if (e.type === 'run.started' && queuedAt.has(e.runId)) latency.push(e.time - queuedAt.get(e.runId)!);
        if (ENDED.has(e.type)) {
          ended.add(e.runId);
          if (ended.size === RUNS) allEnded.resolve();
        }
      }),
    ),
  );
  const t0 = performance.now();
  let dropped = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let k = 0; k < RUNS / CLIENTS; k++) {
        const i = c * (RUNS / CLIENTS) + k;
        const runId = await submit(url, cheap(offset + i));
        accepted.push(runId);
        if (i % (RUNS / DROPPING) === 0) {
          // A client that watches its run and drops the connection once the run has started.
          await watcher(url, (e, ws) => {
            if (e.type === 'node.started' || ENDED.has(e.type)) {
              if (ws.readyState === ws.OPEN) dropped++;
              ws.terminate();
            }
          }, runId);
        }
      }
    }),
  );
  await allEnded.promise;
  const seconds = (performance.now() - t0) / 1000;
  for (const w of watchers) w.close();
  const listed = new Set(((await (await fetch(`${url}/api/runs`)).json()) as { runId: string; status: string }[]).filter((r) => ENDED.has(`run.${r.status}`)).map((r) => r.runId));
  return { accepted, listed, latency, dropped, seconds };
}

const dataDir = tempDir('soak');
/** The server process now running, stopped however the bench ends. */
let live: ChildServer | undefined;
try {
  // Phase 1: load, after a warm-up.
  let server = (live = await spawnServer(dataDir, SERVER_ARGS));
  const warm = deferred();
  let warmed = 0;
  const w0 = await watcher(server.url, (e) => ENDED.has(e.type) && ++warmed === WARM_UP && warm.resolve());
  for (let i = 0; i < WARM_UP; i++) await submit(server.url, cheap(2000 + i));
  await warm.promise;
  w0.close();
  const rssBefore = rssMb(server);

  const rounds = [];
  for (const offset of [0, RUNS]) rounds.push({ ...(await loadRound(server.url, offset)), rss: rssMb(server) });
  const { accepted, listed, latency, dropped, seconds } = rounds[0]!;
  const rssAfter = rounds[0]!.rss;
  console.log(`load: ${accepted.length} runs accepted from ${CLIENTS} clients with ${WATCHERS} watchers, ${dropped} clients dropped mid-run; ${accepted.filter((id) => listed.has(id)).length} listed as ended, in ${seconds.toFixed(0)} s`);
  console.log(`queue latency (run.queued to run.started): p50 ${percentile(latency, 50)} ms, p95 ${percentile(latency, 95)} ms`);
  console.log(`server RSS (after ${WARM_UP} warm-up runs, output cache 8 MiB): ${rssBefore.toFixed(0)} MB before, ${rssAfter.toFixed(0)} MB after (${(((rssAfter - rssBefore) / rssBefore) * 100).toFixed(1)} %, goal within 10 %); ${rounds[1]!.rss.toFixed(0)} MB after ${RUNS} more`);

  // Phase 2: kill -9 during runs, restart, ten times.
  const killed: string[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const started = deferred();
    const ws = await watcher(server.url, (e) => e.type === 'node.started' && started.resolve());
    for (let k = 0; k < RUNS_PER_CYCLE; k++) killed.push(await submit(server.url, cheap(1000 + cycle * RUNS_PER_CYCLE + k, 6)));
    await started.promise;
    ws.terminate();
    await server.kill();
    server = live = await spawnServer(dataDir, SERVER_ARGS);
  }
  const after = new Map(((await (await fetch(`${server.url}/api/runs`)).json()) as { runId: string; status: string; interrupted?: string }[]).map((r) => [r.runId, r]));
  const found = killed.filter((id) => after.has(id));
  const count = (f: (r: { status: string; interrupted?: string }) => boolean) => found.filter((id) => f(after.get(id)!)).length;
  console.log(
    `kill -9 / restart x${CYCLES}: ${killed.length} runs accepted, ${found.length} accounted for after the restarts ` +
      `(${count((r) => r.status === 'finished')} finished, ${count((r) => r.interrupted === 'running')} failed at their last event, ` +
      `${count((r) => r.status === 'queued' || r.status === 'running')} queued again by the restart and not ended yet, ${count((r) => r.status === 'failed' && !r.interrupted)} failed) (goal: all)`,
  );
  if (found.length !== killed.length || rounds.some((r) => r.accepted.some((id) => !r.listed.has(id)))) process.exitCode = 1;
} finally {
  await live?.kill();
  removeTempDirs();
}

// Item: nothing accepted is lost when the server is killed (kill -9), in its first seconds or with runs queued.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunEvent } from '../../protocol/index.ts';
import { spawnServer, type ChildServer } from '../helpers/spawn-server.ts';
import { tempDir } from '../helpers/temp.ts';
import { graph } from '../helpers/test-nodes.ts';

const servers: ChildServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.kill();
});

async function start(dataDir: string) {
  const s = await spawnServer(dataDir, ['--test-nodes']);
  servers.push(s);
  return s;
}

/** Resolves with the first event of the server's stream that `match` accepts. */
function nextEvent(url: string, match: (e: RunEvent) => boolean): { opened: Promise<void>; event: Promise<RunEvent>; close(): void } {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const event = new Promise<RunEvent>((resolve) =>
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const e = JSON.parse(data.toString());
      if (match(e)) resolve(e);
    }),
  );
  return { opened, event, close: () => ws.close() };
}

async function submit(url: string, g: unknown): Promise<string> {
  const res = await fetch(`${url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: g }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

const slow = graph([{ id: 'a', type: 'test/constant' }, { id: 's', type: 'test/slow', params: { steps: 10_000, stepMs: 20 } }], [['a', 'value', 's', 'a']]);
const quick = (value: number) => graph([{ id: 'c', type: 'test/constant', params: { value } }]);

describe('a server killed with SIGKILL', () => {
  it('runs the queued runs after a restart; the running one failed at its last event, ready to be queued again', async () => {
    const dataDir = tempDir('restart');
    const first = await start(dataDir);
    const started = nextEvent(first.url, (e) => e.type === 'node.started' && e.nodeId === 's');
    await started.opened;
    const running = await submit(first.url, slow);
    await started.event;
    started.close();
    // A going run's record is saved every 2 s or so: wait until it holds node a's end (a state on disk).
    const record = () => JSON.parse(readFileSync(path.join(dataDir, 'runs', `${running}.json`), 'utf8')) as { events: RunEvent[] };
    await expect.poll(() => record().events.some((e) => e.type === 'node.finished' && e.nodeId === 'a'), { timeout: 30_000 }).toBe(true);
    // Accepted (202) and killed right after: nothing of theirs ran.
    const queued = [await submit(first.url, quick(1)), await submit(first.url, quick(2))];
    await first.kill();

    const second = await start(dataDir);
    const run = async (id: string) => (await (await fetch(`${second.url}/api/runs/${id}`)).json()) as { status: string; interrupted?: string; error?: string; nodes: Record<string, unknown> };
    // Taken up under their own ids, in the order they were accepted.
    for (const id of queued) await expect.poll(async () => (await run(id)).status, { timeout: 30_000 }).toBe('finished');
    const events = (await (await fetch(`${second.url}/api/runs/${queued[0]}/events`)).json()) as RunEvent[];
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'log', 'run.started', 'node.started', 'node.finished', 'run.finished']);
    const runs = (await (await fetch(`${second.url}/api/runs`)).json()) as { runId: string; status: string; interrupted?: string; error?: string }[];
    expect(runs.map((r) => r.runId).sort()).toEqual([running, ...queued].sort());
    expect(runs.find((r) => r.runId === running)).toMatchObject({ status: 'failed', interrupted: 'running', error: 'The server stopped before this run ended: its log goes up to then' });
    expect((await run(running)).nodes.a).toMatchObject({ state: 'done' });

    // Re-queue (the editor's button): a new run of the graph the record kept; only interrupted runs.
    const refused = await fetch(`${second.url}/api/runs/${queued[0]}/requeue`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect((await refused.json()).error).toBe(`Run "${queued[0]}" was not interrupted: run its graph again instead`);
    const again = await fetch(`${second.url}/api/runs/${running}/requeue`, { method: 'POST' });
    expect(again.status).toBe(202);
    const rerun = ((await again.json()) as { runId: string }).runId;
    expect(rerun).not.toBe(running);
    expect(await (await fetch(`${second.url}/api/runs/${rerun}/graph`)).json()).toEqual(slow);
    const cancelled = nextEvent(second.url, (e) => e.type === 'run.cancelled' && e.runId === rerun);
    await cancelled.opened;
    await fetch(`${second.url}/api/runs/${rerun}/cancel`, { method: 'POST' });
    await cancelled.event;
    cancelled.close();
  });
});

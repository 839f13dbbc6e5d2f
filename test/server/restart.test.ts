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
  it('lists every accepted run after a restart: the running one failed at its last event, the queued ones interrupted, ready to queue again', async () => {
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
    const runs = (await (await fetch(`${second.url}/api/runs`)).json()) as { runId: string; status: string; interrupted?: string; error?: string }[];
    expect(runs.map((r) => r.runId).sort()).toEqual([running, ...queued].sort());
    const byId = new Map(runs.map((r) => [r.runId, r]));
    expect(byId.get(running)).toMatchObject({ status: 'failed', interrupted: 'running', error: 'The server stopped before this run ended: its log goes up to then' });
    for (const id of queued) {
      expect(byId.get(id)).toMatchObject({ status: 'failed', interrupted: 'queued', error: 'Interrupted: the server stopped before this run started; queue it again' });
    }
    const detail = await (await fetch(`${second.url}/api/runs/${running}`)).json();
    expect(detail.nodes.a).toMatchObject({ state: 'done' });

    // The editor queues an interrupted run again from the graph its record kept.
    const again = await (await fetch(`${second.url}/api/runs/${queued[0]}/graph`)).json();
    expect(again).toEqual(quick(1));
    const finished = nextEvent(second.url, (e) => e.type === 'run.finished');
    await finished.opened;
    const rerun = await submit(second.url, again);
    expect((await finished.event).runId).toBe(rerun);
    finished.close();
  });
});

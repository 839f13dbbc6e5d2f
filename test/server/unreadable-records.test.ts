import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../server/app.ts';
import { expectCleanError } from '../helpers/clean-answer.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';

// Attack: subscribe to a run listed from an earlier process whose record became unreadable. It used to
// throw inside the WebSocket handler and end the process, losing every queued run.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-records-'));
let server: RunningServer;
let deleted: string;
let badEvent: string;

async function endedRun(s: RunningServer): Promise<string> {
  const res = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ graph: graph([{ id: 'a', type: 'test/constant' }]) }),
  });
  const { runId } = await res.json();
  await s.context.queue.idle();
  return runId as string;
}

beforeAll(async () => {
  const first = await startServer({ port: 0, dataDir, registry: testRegistry() });
  deleted = await endedRun(first);
  badEvent = await endedRun(first);
  await first.close();
  // A valid head (so it is listed) with an event of a type no version knows.
  const file = path.join(dataDir, 'runs', `${badEvent}.json`);
  const record = JSON.parse(readFileSync(file, 'utf8'));
  record.events[1].type = 'run.teleported';
  writeFileSync(file, JSON.stringify(record));
  server = await startServer({ port: 0, dataDir, registry: testRegistry() });
  rmSync(path.join(dataDir, 'runs', `${deleted}.json`));
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The messages a WebSocket gets up to and including the first `error` one. */
function untilError(url: string, send?: unknown): Promise<{ type: string; message?: string }[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: { type: string; message?: string }[] = [];
    ws.on('open', () => send && ws.send(JSON.stringify(send)));
    ws.on('message', (d) => {
      got.push(JSON.parse(d.toString()));
      if (got.at(-1)!.type === 'error') (ws.close(), resolve(got));
    });
    ws.on('error', reject);
  });
}

describe('runs whose saved record became unreadable', () => {
  it('are still listed, and the server says so on the WebSocket instead of dying', async () => {
    const listed = (await (await fetch(`${server.url}/api/runs`)).json()).map((r: { runId: string }) => r.runId);
    expect(listed).toEqual(expect.arrayContaining([deleted, badEvent]));
    const ws = `${server.url.replace('http', 'ws')}/ws`;
    for (const runId of [deleted, badEvent]) {
      for (const got of [await untilError(`${ws}?runId=${runId}`), await untilError(ws, { type: 'subscribe', runId })]) {
        expect(got[0]).toEqual({ type: 'hello', version: 1 });
        expect(got.at(-1)!.message).toBe(`The saved record of run "${runId}" cannot be read (it was removed or damaged; the server log says why)`);
        expect(got.at(-1)!.message).not.toContain(dataDir);
      }
    }
    // A message that is not a subscribe is answered, not thrown.
    expect((await untilError(ws, { type: 'dance' })).at(-1)!.message).toMatch(/Send \{"type":"subscribe"/);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it('answer a clean 500 over REST: no path, no zod dump', async () => {
    for (const runId of [deleted, badEvent]) {
      for (const tail of ['', '/events', '/log', '/graph']) {
        const body = await expectCleanError(await fetch(`${server.url}/api/runs/${runId}${tail}`), 500);
        expect(body.error).toContain(runId);
      }
    }
  });

  it('the server keeps running runs after all that', async () => {
    const runId = await endedRun(server);
    const run = await (await fetch(`${server.url}/api/runs/${runId}`)).json();
    expect(run.status).toBe('finished');
  });
});

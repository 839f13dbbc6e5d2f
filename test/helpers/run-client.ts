// A client of a running server for queue tests: submit runs, wait for events on the WebSocket.
import { expect } from 'vitest';
import WebSocket from 'ws';
import type { RunEvent } from '../../protocol/index.ts';

export async function submit(url: string, g: unknown): Promise<string> {
  const res = await fetch(`${url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: g }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

export const runEnded = (e: RunEvent) => e.type === 'run.finished' || e.type === 'run.failed' || e.type === 'run.cancelled';

/** A WebSocket watcher of every run; `until` resolves with the first event (from now on or seen) that `match` accepts. */
export async function watchEvents(url: string): Promise<{ seen: RunEvent[]; until(match: (e: RunEvent) => boolean): Promise<RunEvent>; close(): void }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const seen: RunEvent[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const e = JSON.parse(data.toString()) as RunEvent | { type: 'hello' };
    if (e.type === 'hello') return;
    seen.push(e);
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve) => ws.once('message', resolve));
  return {
    seen,
    until: (match) =>
      new Promise((resolve) => {
        const check = () => {
          const found = seen.find(match);
          if (!found) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
    close: () => ws.close(),
  };
}

export async function runEvents(url: string, runId: string): Promise<RunEvent[]> {
  return (await (await fetch(`${url}/api/runs/${runId}/events`)).json()) as RunEvent[];
}

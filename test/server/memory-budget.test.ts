// A run's memory budget: a run whose outputs would pass it is refused before it starts, naming the node
// and the figures (attacks from the hardening issue: 40-megapixel uploads, demo photos resized to 8192²).
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../nodes/index.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import { ensureSampleInputs } from '../../runtime/sample-inputs.ts';
import { checkGraph } from '../../runtime/validate.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { tempDir } from '../helpers/temp.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';

let server: RunningServer;
const MB = 1024 ** 2;

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir: tempDir('memory'), runMemoryBytes: 768 * MB });
});
afterAll(() => server.close());

describe('memory budget of a run', () => {
  it('refuses eight 40-megapixel uploads loaded at once, before decoding any, naming the load node and the figure', async () => {
    // 8 x 40 megapixels in a few hundred KB of PNG: a flat colour compresses to almost nothing.
    const png = await sharp({ create: { width: 8000, height: 5000, channels: 3, background: '#808080' } }).png().toBuffer();
    for (let i = 0; i < 8; i++) {
      const up = await fetch(`${server.url}/api/uploads`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
      expect(up.status).toBe(201);
    }
    const g = graph([{ id: 'load', type: 'image/load-images', params: { path: 'uploads' } }, { id: 'show', type: 'image/preview' }], [['load', 'images', 'show', 'images']]);
    const res = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: g }) });
    const { runId } = (await res.json()) as { runId: string };
    await server.context.queue.idle();
    const run = await (await fetch(`${server.url}/api/runs/${runId}`)).json();
    expect(run.status).toBe('failed');
    expect(run.error).toBe(
      'Node "load" (image/load-images) would hold 8 images of up to 8000x5000x3 bytes, 916 MB; with the nodes before it the run would need 916 MB of memory, over its budget of 768 MB (--run-memory-mb or FACECHAIN_RUN_MEMORY_MB)',
    );
    expect(run.problems).toEqual([{ node: 'load', message: run.error }]);
    // Refused before it ran: no node started.
    const events = (await (await fetch(`${server.url}/api/runs/${runId}/events`)).json()) as RunEvent[];
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.failed']);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it('refuses the demo photos resized to 8192x8192 on two branches at the second branch, before anything runs', async () => {
    const data = tempData();
    await ensureSampleInputs(data);
    const executor = new Executor({ registry: createRegistry(), data, memoryBudget: 2048 * MB });
    const big = { width: 8192, height: 8192 };
    const g = graph(
      [
        { id: 'load', type: 'image/load-images', params: { path: 'samples' } },
        { id: 'a', type: 'image/resize', params: big },
        { id: 'b', type: 'image/resize', params: { ...big, fit: 'fill' } },
        { id: 'showA', type: 'image/preview' },
        { id: 'showB', type: 'image/preview' },
      ],
      [['load', 'images', 'a', 'images'], ['load', 'images', 'b', 'images'], ['a', 'images', 'showA', 'images'], ['b', 'images', 'showB', 'images']],
    );
    const events: RunEvent[] = [];
    const r = await executor.run(g, { onEvent: (e) => void events.push(e) });
    expect(r.status).toBe('failed');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.node).toBe('b');
    expect(r.problems[0]!.message).toMatch(/^Node "b" \(image\/resize\) would hold 6 images of up to 8192x8192x3 bytes, 1\.13 GB; with the nodes before it the run would need 2\.\d\d GB of memory, over its budget of 2\.00 GB/);
    expect(events.map((e) => e.type)).toEqual(['run.failed']);
  });

  it('load-images reads at most 1000 files', () => {
    const r = checkGraph(graph([{ id: 'load', type: 'image/load-images', params: { limit: 10_000 } }]), createRegistry());
    expect(r.ok ? [] : r.problems).toEqual([expect.objectContaining({ node: 'load', field: 'params.limit', message: expect.stringMatching(/<=1000/) })]);
  });
});

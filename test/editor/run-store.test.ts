import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../../editor/src/core/api.ts';
import { graphFromText } from '../../editor/src/core/graph-io.ts';
import { RunStore } from '../../editor/src/core/run-store.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The run store against the real server in-process: its event stream is fed straight from the run
 * queue, so events arrive before the POST answer does (the race the store buffers for).
 */
let server: RunningServer;
let dataDir: string;
const basics = graphFromText(readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8'));

beforeAll(async () => {
  dataDir = tempDir('runstore');
  server = await startServer({ port: 0, dataDir });
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function connectedStore() {
  const urls = { made: [] as string[], revoked: [] as string[] };
  let n = 0;
  const runs = new RunStore(new Api(server.url), {
    create: (bytes, mime) => {
      const url = `blob:${mime}:${bytes.length}:${n++}`;
      urls.made.push(url);
      return url;
    },
    revoke: (url) => void urls.revoked.push(url),
  });
  const off = server.context.queue.subscribe((event, preview) => {
    runs.handleEvent(event);
    if (preview && event.type === 'node.preview') runs.handlePreview({ header: event, image: preview.data });
  });
  return { runs, urls, off };
}

async function settled(runs: RunStore) {
  await expect.poll(() => runs.getSnapshot().run?.status, { timeout: 30_000 }).toMatch(/finished|failed|cancelled/);
}

describe('run store with the real server', () => {
  it('follows a run from POST to finish: node states, previews, full-size outputs', async () => {
    const { runs, urls, off } = connectedStore();
    const started = await runs.start(basics);
    expect(started.ok).toBe(true);
    await settled(runs);
    const s = runs.getSnapshot();
    expect(s.run?.status).toBe('finished');
    expect(Object.keys(s.run!.nodes).sort()).toEqual(['grid', 'load', 'preview', 'resize', 'save']);
    for (const n of Object.values(s.run!.nodes)) expect(n.state).toMatch(/done|cached/);
    // The preview node streamed the six resized photos; each became an object URL.
    expect(s.previews.preview!.images.filter(Boolean)).toHaveLength(6);
    expect(urls.made.length).toBeGreaterThanOrEqual(6);
    await expect.poll(() => runs.getSnapshot().outputs.nodes.grid).toEqual({ image: 1 });
    // A second run replaces the previews and frees the old URLs.
    await runs.start(basics);
    await settled(runs);
    expect(urls.revoked.length).toBeGreaterThanOrEqual(6);
    off();
  });

  it('pins a 400 answer on the nodes and fields it names', async () => {
    const { runs, off } = connectedStore();
    const broken = { ...basics, nodes: basics.nodes.map((n) => (n.id === 'resize' ? { ...n, params: { ...n.params, width: 0 } } : n)) };
    const started = await runs.start(broken);
    expect(started.ok).toBe(false);
    const p = runs.getSnapshot().problems;
    expect(Object.keys(p.nodes.resize!.params)).toEqual(['width']);
    runs.clearFieldProblem('resize', 'width');
    expect(runs.getSnapshot().problems.nodes.resize!.params).toEqual({});
    off();
  });

  it('cancels a running run', async () => {
    const { runs, off } = connectedStore();
    const slow = { ...basics, nodes: basics.nodes.map((n) => (n.id === 'resize' ? { ...n, params: { ...n.params, width: 6000, height: 6000 } } : n)) };
    await runs.start(slow);
    await expect.poll(() => runs.getSnapshot().run?.status).toMatch(/queued|running/);
    await runs.cancel();
    await settled(runs);
    expect(runs.getSnapshot().run?.status).toBe('cancelled');
    off();
  });
});

// A new user's first run: on an empty data folder, every graph in graphs/ opens from the editor's Open
// dialog and runs to `finished` with no edits (sample photos, the built-in demo model, the demo LoRAs
// that first start installs). For the portrait and generate graphs the ranker scored at least one
// result and the fused outputs hold a face the detector finds.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../runtime/image-io.ts';
import type { RunningServer } from '../../server/app.ts';
import { testFaceModels } from '../fixtures/faces/photos.ts';
import { editorOnFreshData, type EditorPage } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GRAPHS = readdirSync(path.join(ROOT, 'graphs')).filter((f) => f.endsWith('.json') && f !== 'schema.json').map((f) => f.slice(0, -5));
/** Graphs whose fused, ranked results must hold a detected face: the fuse and rank node ids (inside a component: its path). */
const FACES: Record<string, { fuse: string; rank: string }> = {
  'facechain-portrait': { fuse: 'post/fuse', rank: 'post/rank' },
  'facechain-generate': { fuse: 'fuse', rank: 'rank' },
};

let editor: EditorPage | undefined;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  editor = await editorOnFreshData('shipped');
  ({ server, page } = editor);
}, 300_000);

afterAll(async () => {
  await editor?.close();
});

const api = async <T,>(p: string): Promise<T> => {
  const res = await fetch(new URL(p, server.url));
  expect(res.ok, `${p}: ${res.status}`).toBe(true);
  return res.json() as Promise<T>;
};

describe('every shipped graph on a fresh data folder', () => {
  it.each(GRAPHS)('%s opens and runs to finished with no edits', (id) => openAndRun(id), 1_600_000);
});

async function openAndRun(id: string): Promise<void> {
  const graph = JSON.parse(readFileSync(path.join(ROOT, 'graphs', `${id}.json`), 'utf8')) as { nodes: unknown[] };
  const before = (await api<{ runId: string }[]>('/api/runs')).map((r) => r.runId);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await page.locator(`[data-example="${id}"]`).click();
  await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node').length === n, graph.nodes.length);
  await page.locator('.fc-run').click();
  await page.waitForFunction(() => /finished|failed|cancelled/.test(document.querySelector('.fc-run-status')?.getAttribute('data-status') ?? ''), null, { timeout: 1_500_000 });
  const run = (await api<{ runId: string; status: string; error?: string }[]>('/api/runs')).find((r) => !before.includes(r.runId))!;
  expect(run, 'the run is listed').toBeTruthy();
  expect(`${run.status}${run.error ? `: ${run.error}` : ''}`).toBe('finished');

  const faces = FACES[id];
  if (!faces) return;
  const log = await api<{ nodeId?: string; message: string }[]>(`/api/runs/${run.runId}/log`);
  const scored = log.filter((l) => l.nodeId === faces.rank && / score \d/.test(l.message));
  expect(scored.length, 'results the ranker scored').toBeGreaterThanOrEqual(1);
  const detector = testFaceModels();
  const found: number[] = [];
  for (let i = 0; ; i++) {
    const res = await fetch(new URL(`/api/runs/${run.runId}/outputs/${encodeURIComponent(faces.fuse)}/images/${i}`, server.url));
    if (res.status === 404) break;
    found.push((await detector.detect(await decodeImage(Buffer.from(await res.arrayBuffer())))).length);
  }
  expect(found.length, 'fused outputs').toBeGreaterThan(0);
  expect(found.filter((n) => n > 0).length, `faces per fused output: ${found}`).toBeGreaterThanOrEqual(1);
}

// A sweep in the editor (headless Chromium, real server): the results table fills as cells finish, a
// header click sorts it, the grid link appears when the sweep ends and serves the labelled grid PNG.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { openEditorPage, type EditorPage } from './browser.ts';

let editor: EditorPage | undefined;
let server: RunningServer;
let page: Page;

const SWEEP = {
  format: 'facechain-graph',
  version: 1,
  name: 'resize sweep',
  nodes: [
    { id: 'load', type: 'image/load-images', params: { path: 'portraits/portrait1.jpg' }, position: { x: 0, y: 0 } },
    { id: 'resize', type: 'image/resize', params: { width: 32, height: 32 }, position: { x: 360, y: 0 } },
  ],
  edges: [{ from: { node: 'load', port: 'images' }, to: { node: 'resize', port: 'images' } }],
  meta: { sweep: { name: 'e2e', axes: [{ node: 'resize', param: 'width', values: [16, 48, 32], label: 'width' }, { node: 'resize', param: 'fit', values: ['cover', 'contain'] }] } },
};

beforeAll(async () => {
  editor = await openEditorPage('sweep-e2e', { viewport: { width: 1366, height: 900 } });
  ({ server, page } = editor);
  await page.goto(server.url);
  await page.waitForSelector('.react-flow__node');
});

afterAll(async () => {
  await editor?.close();
});

const column = (i: number) => page.locator('.fc-sweep-table tbody tr').evaluateAll((trs, k) => trs.map((tr) => tr.children[k]!.textContent), i);

describe('sweep results in the editor', { timeout: 180_000 }, () => {
  it('shows a sortable table and the grid', async () => {
    await page.locator('[data-testid="import-file"]').setInputFiles({ name: 'sweep.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(SWEEP)) });
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 2);
    await page.locator('.fc-run').click();
    await page.waitForFunction(() => document.querySelectorAll('.fc-sweep-table tbody tr').length === 6, null, { polling: 'raf' });
    expect(await page.locator('.fc-sweep-table th').allTextContents()).toEqual(['width', 'resize.fit', 'seed', 'ms', 'image']);
    expect(await column(0)).toEqual(['16', '48', '32', '16', '48', '32']);
    await page.locator('.fc-sweep-table th', { hasText: 'width' }).click();
    expect(await column(0)).toEqual(['16', '16', '32', '32', '48', '48']);
    await page.locator('.fc-sweep-table th', { hasText: 'width' }).click();
    expect(await column(0)).toEqual(['48', '48', '32', '32', '16', '16']);
    await page.locator('[data-testid="sweep-grid"]').waitFor();
    const grid = await page.evaluate(async (href) => {
      const r = await fetch(href!);
      return { status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength };
    }, await page.locator('[data-testid="sweep-grid"]').getAttribute('href'));
    expect(grid.status).toBe(200);
    expect(grid.type).toBe('image/png');
    expect(grid.bytes).toBeGreaterThan(1000);
  });
});

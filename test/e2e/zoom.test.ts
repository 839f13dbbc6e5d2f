// The portrait example at a laptop's 1366x768, fitted to the window: at that zoom nodes draw no forms, so
// each must still show its title readably and, after a run, its latest image large (semantic zoom).
// The README's screenshots are taken at the same size (test/e2e/graph-screenshots.ts, screenshot.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { editorOnFreshData, type EditorPage } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GRAPH = JSON.parse(readFileSync(path.join(ROOT, 'graphs/facechain-portrait.json'), 'utf8')) as {
  nodes: { id: string; type: string; title?: string; params: Record<string, unknown> }[];
};
/** Smallest on-screen size that reads: title text at least this tall, images at least PREVIEW_PX a side. */
const TITLE_PX = 10;
const PREVIEW_PX = 48;

let editor: EditorPage | undefined;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  editor = await editorOnFreshData('zoom');
  ({ server, page } = editor);
});

afterAll(async () => {
  await editor?.close();
});

/** On-screen boxes of every node's summary title and image, by node id. */
function summaries() {
  return page.locator('.react-flow__node').evaluateAll((els) =>
    els.map((el) => {
      const box = (sel: string) => {
        const r = el.querySelector(sel)?.getBoundingClientRect();
        return r ? { x: r.x, y: r.y, width: r.width, height: r.height } : undefined;
      };
      const r = el.getBoundingClientRect();
      return {
        id: el.getAttribute('data-id')!,
        node: { x: r.x, y: r.y, width: r.width, height: r.height },
        title: el.querySelector('.fc-compact-title')?.textContent ?? undefined,
        titleBox: box('.fc-compact-title'),
        image: box('.fc-compact-image'),
        state: el.querySelector('.fc-node')?.getAttribute('data-state'),
      };
    }),
  );
}

describe('the portrait example at 1366x768', { timeout: 300_000 }, () => {
  it('opens fitted, every node showing its title in readable type', async () => {
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('[data-example="facechain-portrait"]').click();
    await page.waitForFunction((n) => document.querySelectorAll('.fc-compact-title').length === n, GRAPH.nodes.length);
    const shown = await summaries();
    expect(shown.map((s) => s.id).sort()).toEqual(GRAPH.nodes.map((n) => n.id).sort());
    for (const s of shown) {
      expect(s.node.x, `${s.id} in view`).toBeGreaterThanOrEqual(0);
      expect(s.node.x + s.node.width, `${s.id} in view`).toBeLessThanOrEqual(1366);
      expect(s.node.y + s.node.height, `${s.id} in view`).toBeLessThanOrEqual(768);
      expect(s.title, s.id).toBeTruthy();
      // One line of the title: its box holds at most two lines.
      expect(s.titleBox!.height, `${s.id} title height`).toBeGreaterThanOrEqual(TITLE_PX);
    }
  });

  it('after a run, every node that made an image shows it larger than 48 px', async () => {
    // Fewer training steps than shipped: what is drawn does not depend on them.
    await page.locator('[data-testid="import-file"]').setInputFiles({
      name: 'facechain-portrait.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ ...GRAPH, nodes: GRAPH.nodes.map((n) => (n.id === 'train' ? { ...n, params: { ...n.params, steps: 20 } } : n)) })),
    });
    await page.waitForFunction((n) => document.querySelectorAll('.fc-compact-title').length === n, GRAPH.nodes.length);
    await page.locator('.fc-run').click();
    await page.waitForFunction(() => /finished|failed|cancelled/.test(document.querySelector('.fc-run-status')?.getAttribute('data-status') ?? ''), null, { timeout: 280_000 });
    // Node states and their images arrive as events; wait until every finished image node shows one.
    const imageNodes = new Set(GRAPH.nodes.filter((n) => !['sd/load-checkpoint', 'tag/tagger', 'tag/dataset', 'lora/save', 'lora/mix'].includes(n.type)).map((n) => n.id));
    await expect
      .poll(async () => (await summaries()).filter((s) => imageNodes.has(s.id) && s.state === 'done' && !(s.image && s.image.width > PREVIEW_PX && s.image.height > PREVIEW_PX)).map((s) => s.id), { timeout: 30_000 })
      .toEqual([]);
    const withImages = (await summaries()).filter((s) => s.image && s.image.width > PREVIEW_PX && s.image.height > PREVIEW_PX);
    expect(withImages.length).toBeGreaterThanOrEqual(8);
  });
});

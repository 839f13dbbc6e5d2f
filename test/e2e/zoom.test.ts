// The portrait example at a laptop's 1366x768, fitted to the window: each node must show its title
// readably and, after a run, its latest image larger than 48 px; at fit-view zoom below 45 % nodes draw
// no forms, only their title, state and image (semantic zoom). The graph is built from components, so the
// same holds at its top level (an instance shows the latest image made inside it) and inside each
// component, opened from its menu as a user would. test/e2e/graph-screenshots.ts takes the README's
// screenshots the same way, at the same size.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editorOnFreshData, type EditorPage } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
type Node = { id: string; type: string; component?: string; title?: string; params: Record<string, unknown> };
const GRAPH = JSON.parse(readFileSync(path.join(ROOT, 'graphs/facechain-portrait.json'), 'utf8')) as {
  nodes: Node[];
  components: Record<string, { name: string; nodes: Node[] }>;
};
/** Smallest on-screen size that reads: title text at least this tall, images at least PREVIEW_PX a side. */
const TITLE_PX = 10;
const PREVIEW_PX = 48;
/** Node types that make no image to show. */
const NO_IMAGE = new Set(['sd/load-checkpoint', 'tag/tagger', 'tag/dataset', 'lora/save', 'lora/mix']);

let editor: EditorPage | undefined;
let page: Page;

beforeAll(async () => {
  editor = await editorOnFreshData('zoom');
  ({ page } = editor);
});

afterAll(async () => {
  await editor?.close();
});

/** On-screen boxes of every node's title and largest image (zoomed out: its summary's; else its header and previews), by node id. */
function summaries() {
  return page.locator('.react-flow__node').evaluateAll((els) =>
    els.map((el) => {
      const box = (e: Element | null | undefined) => {
        const r = e?.getBoundingClientRect();
        return r ? { x: r.x, y: r.y, width: r.width, height: r.height } : undefined;
      };
      const title = el.querySelector('.fc-compact-title') ?? el.querySelector('.fc-node-title');
      const images = [...el.querySelectorAll('.fc-compact-image, .fc-thumb img')].map(box).sort((a, b) => b!.width * b!.height - a!.width * a!.height);
      return {
        id: el.getAttribute('data-id')!,
        node: box(el)!,
        title: title?.textContent ?? undefined,
        titleBox: box(title),
        image: images[0],
        state: el.querySelector('.fc-node')?.getAttribute('data-state'),
      };
    }),
  );
}

const shownIds = async () => (await summaries()).map((s) => s.id).sort();

/** Every node of the level is drawn whole inside the window with a title in readable type. */
async function expectReadable(nodes: Node[]) {
  await expect.poll(shownIds).toEqual(nodes.map((n) => n.id).sort());
  // Fitting the view is animated on entering a level: wait for the last node to be in the window.
  await expect.poll(async () => (await summaries()).filter((s) => s.node.x < 0 || s.node.x + s.node.width > 1366 || s.node.y + s.node.height > 768).map((s) => `${s.id} ${JSON.stringify(s.node)}`)).toEqual([]);
  for (const s of await summaries()) {
    expect(s.title, s.id).toBeTruthy();
    expect(s.titleBox!.height, `${s.id} title height`).toBeGreaterThanOrEqual(TITLE_PX);
  }
}

/** Node states and their images arrive as events: wait until every finished node that makes one shows it large. */
async function expectImages(nodes: Node[], least: number) {
  const imageNodes = new Set(nodes.filter((n) => !NO_IMAGE.has(n.type)).map((n) => n.id));
  const large = (s: Awaited<ReturnType<typeof summaries>>[number]) => !!s.image && s.image.width > PREVIEW_PX && s.image.height > PREVIEW_PX;
  await expect
    .poll(async () => (await summaries()).filter((s) => imageNodes.has(s.id) && s.state === 'done' && !large(s)).map((s) => s.id), { timeout: 30_000 })
    .toEqual([]);
  expect((await summaries()).filter(large).length).toBeGreaterThanOrEqual(least);
}

async function enter(instance: string) {
  await page.locator(`.react-flow__node[data-id="${instance}"] .fc-node-header`).click({ button: 'right' });
  await page.locator('.fc-menu').getByText('Edit inside', { exact: true }).click();
}

describe('the portrait example at 1366x768', { timeout: 300_000 }, () => {
  it('opens fitted, every node showing its title in readable type: the components at the top, their nodes inside', async () => {
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('[data-example="facechain-portrait"]').click();
    expect(GRAPH.nodes.map((n) => n.title ?? n.id)).toEqual(['Preprocess', 'Base model', 'Train', 'Generate', 'Post']);
    await expectReadable(GRAPH.nodes);
    const preprocess = GRAPH.components.preprocess!.nodes;
    await enter('preprocess');
    await expectReadable(preprocess);
    await page.locator('.fc-breadcrumb button').first().click();
    await expectReadable(GRAPH.nodes);
  });

  it('after a run, every node that made an image shows it larger than 48 px, at the top and inside each component', async () => {
    // Fewer training steps than shipped (the Train component's param): what is drawn does not depend on them.
    await page.locator('[data-testid="import-file"]').setInputFiles({
      name: 'facechain-portrait.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ ...GRAPH, nodes: GRAPH.nodes.map((n) => (n.id === 'train' ? { ...n, params: { ...n.params, steps: 20 } } : n)) })),
    });
    await expect.poll(shownIds).toEqual(GRAPH.nodes.map((n) => n.id).sort());
    await page.locator('.fc-run').click();
    await page.waitForFunction(() => /finished|failed|cancelled/.test(document.querySelector('.fc-run-status')?.getAttribute('data-status') ?? ''), null, { timeout: 280_000 });
    // Each component shows the latest image made inside it (the base model makes none).
    await expectImages(GRAPH.nodes, 4);
    for (const instance of ['preprocess', 'train', 'generate', 'post']) {
      const inside = GRAPH.components[instance]!.nodes;
      await enter(instance);
      await expect.poll(() => page.locator('.fc-breadcrumb').textContent()).toMatch(new RegExp(`${GRAPH.components[instance]!.name}$`));
      await expectReadable(inside);
      await expectImages(inside, inside.filter((n) => !NO_IMAGE.has(n.type)).length);
      await page.locator('.fc-breadcrumb button').first().click();
      await expect.poll(shownIds).toEqual(GRAPH.nodes.map((n) => n.id).sort());
    }
  });
});

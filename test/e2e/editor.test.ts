import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.ts';
import { GRAPH_PNG_KEYWORD, readPngText } from '../../protocol/index.ts';
import { openEditorPage, type EditorPage } from './browser.ts';
import { tempDir } from '../helpers/temp.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import { newRun, reduceRun } from '../../protocol/index.ts';
import { runSummary } from '../../protocol/index.ts';
import { RunHistory } from '../../server/run-history.ts';

/**
 * The editor in real headless Chromium against the real server (in-process, temp data folder). One
 * browser and one page for the file; the tests run in order and build on each other's state.
 */
let server: RunningServer;
let browser: Browser;
let page: Page;
let dataDir: string;
/** Uncaught errors in the page: any of them fails the test it happened in. */
let pageErrors: string[] = [];

const node = (id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
const nodeIds = () => page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
const edges = () => page.locator('.react-flow__edge');
const toast = () => page.locator('.fc-toast');
const mod = process.platform === 'darwin' ? 'Meta' : 'Control';

/**
 * Waits for a condition of the page, however busy the machine: a generous limit (a loaded 2-core machine
 * can take seconds to render), checked often. Reaching it is the event a test waits for, never a time.
 */
const until = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 60_000, interval: 50 });

/** Waits until the page shows `n` nodes, checked on every frame the page draws. */
async function nodeCount(p: Page, n: number) {
  await p.waitForFunction((want) => document.querySelectorAll('.react-flow__node').length === want, n, { polling: 'raf', timeout: 60_000 });
}

/** Playwright's own waiting, since vitest's expect has no locator matchers. */
async function visible(l: Locator, timeout?: number) {
  await l.first().waitFor({ state: 'visible', timeout });
}
async function count(l: Locator, n: number) {
  await until(() => l.count()).toBe(n);
}
async function text(l: Locator) {
  return (await l.count()) ? ((await l.first().textContent()) ?? '') : '';
}

function handle(id: string, port: string, side: 'source' | 'target') {
  return node(id).locator(`.react-flow__handle.${side}[data-handleid="${port}"]`);
}

async function centre(l: Locator) {
  const b = (await l.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Drags a wire with the mouse; `whileOver` runs before the button is released. */
async function wire(from: Locator, to: Locator, whileOver?: () => Promise<void>) {
  const a = await centre(from);
  const b = await centre(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2 + 30, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await whileOver?.();
  await page.mouse.up();
}

async function clearCanvas() {
  await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
  await page.keyboard.press(`${mod}+a`);
  await page.keyboard.press('Delete');
  await until(nodeIds).toEqual([]);
}

async function exportGraph(): Promise<Record<string, unknown>> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  return JSON.parse(readFileSync((await download.path())!, 'utf8'));
}

async function importFile(name: string, content: string | Buffer, mimeType = 'application/json') {
  await page.locator('[data-testid="import-file"]').setInputFiles({ name, mimeType, buffer: Buffer.from(content) });
}

async function dropFile(name: string, bytes: Buffer, mime: string) {
  const dataTransfer = await page.evaluateHandle(
    ({ b64, name, mime }) => {
      const bin = atob(b64);
      const arr = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([arr], name, { type: mime }));
      return dt;
    },
    { b64: bytes.toString('base64'), name, mime },
  );
  const pane = page.locator('.react-flow__pane');
  await pane.dispatchEvent('dragover', { dataTransfer });
  await pane.dispatchEvent('drop', { dataTransfer, clientX: 800, clientY: 400 });
}

async function openExample(id: string) {
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await page.locator(`[data-example="${id}"]`).click();
}

async function runStatus() {
  return page.locator('.fc-run-status').getAttribute('data-status');
}

let editor: EditorPage;
beforeAll(async () => {
  editor = await openEditorPage('e2e');
  ({ server, browser, page, dataDir, pageErrors } = editor);
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await editor?.close();
});

describe('editor in a browser', { timeout: 180_000 }, () => {
  it('opens with the palette built from the catalog and the first example', async () => {
    await page.goto(server.url);
    const catalog = (await (await fetch(`${server.url}/api/nodes`)).json()) as { nodes: { type: string }[] };
    await until(() => page.locator('.fc-palette-item').count()).toBe(catalog.nodes.length);
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    await count(page.locator('.react-flow__minimap-node'), 5);
    await page.locator('.fc-palette input[type="search"]').fill('contact sheet');
    await count(page.locator('.fc-palette-item'), 1);
    await page.locator('.fc-palette input[type="search"]').fill('');
  });

  it('adds two nodes from the palette and connects them', async () => {
    await clearCanvas();
    await page.locator('.fc-palette-item[data-type="image/load-images"]').dblclick();
    await visible(node('load-images'));
    const pane = (await page.locator('.react-flow__pane').boundingBox())!;
    await page.locator('.fc-palette-item[data-type="image/resize"]').dragTo(page.locator('.react-flow__pane'), {
      targetPosition: { x: 60, y: pane.height / 2 - 150 },
    });
    await visible(node('resize'));
    await wire(handle('load-images', 'images', 'source'), handle('resize', 'images', 'target'));
    await count(edges(), 1);
  });

  it('refuses an incompatible connection and shows why', async () => {
    const pane = (await page.locator('.react-flow__pane').boundingBox())!;
    await page.locator('.fc-palette-item[data-type="image/save-images"]').dragTo(page.locator('.react-flow__pane'), {
      targetPosition: { x: 60, y: pane.height - 260 },
    });
    await visible(node('save-images'));
    const reason = 'STRING cannot feed a IMAGES input (it accepts IMAGES or IMAGE or MASK)';
    await wire(handle('save-images', 'files', 'source'), handle('resize', 'images', 'target'), async () => {
      await until(() => text(page.locator('.fc-wire-reason'))).toBe(reason);
    });
    await visible(toast().filter({ hasText: reason }));
    // Refused, not swapped in: resize still takes its images from the load node.
    const graph = (await exportGraph()) as { edges: { from: { node: string; port: string }; to: { node: string; port: string } }[] };
    expect(graph.edges).toEqual([{ from: { node: 'load-images', port: 'images' }, to: { node: 'resize', port: 'images' } }]);
  });

  it('sets a param, with undo and redo', async () => {
    const width = node('resize').locator('[data-field="width"] input[type="number"]');
    await width.fill('300');
    await width.blur();
    const graph = (await exportGraph()) as { nodes: { id: string; params: Record<string, unknown> }[] };
    expect(graph.nodes.find((n) => n.id === 'resize')?.params.width).toBe(300);
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await page.keyboard.press(`${mod}+z`);
    await until(() => width.inputValue()).toBe('512');
    await page.keyboard.press(`${mod}+Shift+z`);
    await until(() => width.inputValue()).toBe('300');
  });

  it('shows the server validation problems on the node and field they name', async () => {
    const width = node('resize').locator('[data-field="width"] input[type="number"]');
    await width.fill('0');
    await width.blur();
    await page.locator('.fc-run').click();
    // The unconnected input of the save node and the bad width come back from POST /api/runs (400).
    await visible(node('save-images').locator('.fc-port.is-in.has-problem'));
    await until(() => node('save-images').locator('.fc-node').getAttribute('class')).toMatch(/has-problems/);
    await until(() => text(node('resize').locator('[data-field="width"] .fc-field-error'))).toMatch(/too small/i);
    await width.fill('300');
    await width.blur();
    await count(node('resize').locator('[data-field="width"] .fc-field-error'), 0);
    // Check validates without running: only the unconnected input is left.
    await page.getByRole('button', { name: 'Check' }).click();
    await visible(toast().filter({ hasText: '1 problem' }));
    await count(page.locator('.fc-node.has-problems'), 1);
  });

  it('runs a shipped graph, streams previews into nodes and shows outputs full size', async () => {
    await openExample('image-basics');
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    await page.locator('.fc-run').click();
    const thumb = node('preview').locator('.fc-thumb img').first();
    await visible(thumb, 60_000);
    // An object URL: the preview came as a binary frame over the WebSocket, not from the run's outputs.
    expect(await thumb.getAttribute('src')).toMatch(/^blob:/);
    await until(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    await until(runStatus).toBe('finished');
    expect(await node('grid').locator('.fc-node').getAttribute('data-state')).toMatch(/done|cached/);
    // The grown grid node may sit under its neighbour: selecting it brings it to the front.
    await node('grid').locator('.fc-node-header').click();
    await node('grid').locator('.fc-thumb').first().click();
    const full = page.locator('.fc-viewer-img');
    await until(() => full.getAttribute('src')).toMatch(/\/api\/runs\/[^/]+\/outputs\/grid\/image\/0/);
    await until(() => full.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(700);
    await page.keyboard.press('Escape');
    await count(full, 0);
  });

  it('drops a PNG the save node wrote and gets its graph back', async () => {
    const outputs = readdirSync(path.join(dataDir, 'output')).filter((f) => f.startsWith('contact-sheet') && f.endsWith('.png'));
    expect(outputs.length).toBeGreaterThan(0);
    const png = readFileSync(path.join(dataDir, 'output', outputs[0]!));
    const embedded = JSON.parse(readPngText(png)[GRAPH_PNG_KEYWORD]!) as { graph: unknown };
    await clearCanvas();
    await dropFile(outputs[0]!, png, 'image/png');
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    expect(await exportGraph()).toEqual(embedded.graph);
  });

  it('exports, then re-imports the same graph', async () => {
    const exported = await exportGraph();
    await clearCanvas();
    await importFile('graph.json', JSON.stringify(exported));
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    expect(await exportGraph()).toEqual(exported);
    // The same file dropped on the canvas.
    await clearCanvas();
    await dropFile('graph.json', Buffer.from(JSON.stringify(exported)), 'application/json');
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    expect(await exportGraph()).toEqual(exported);
  });

  it('box-selects with Shift+drag, adds with Ctrl+click, and F fits every node in view', async () => {
    const selected = () => page.locator('.react-flow__node.selected').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')).sort());
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await until(selected).toEqual([]);
    const b = (await node('load').boundingBox())!;
    await page.keyboard.down('Shift');
    await page.mouse.move(b.x - 15, b.y - 15);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 4 });
    await page.mouse.move(b.x + b.width + 15, b.y + b.height + 15, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await until(selected).toEqual(['load']);
    await node('grid').locator('.fc-node-header').click({ modifiers: [mod] });
    await until(selected).toEqual(['grid', 'load']);

    // Zoom far in so nodes leave the view, then F brings all of them back.
    const pane = (await page.locator('.react-flow__pane').boundingBox())!;
    await page.mouse.move(pane.x + 30, pane.y + 30);
    for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -400);
    const inView = async () => {
      const boxes = await Promise.all(['load', 'resize', 'grid', 'preview', 'save'].map((id) => node(id).boundingBox()));
      return boxes.every((n) => n && n.x >= pane.x && n.y >= pane.y && n.x + n.width <= pane.x + pane.width && n.y + n.height <= pane.y + pane.height);
    };
    await until(inView).toBe(false);
    await page.keyboard.press('f');
    await until(inView).toBe(true);
  });

  it('says clearly when a graph comes from a newer version, keeping the canvas', async () => {
    const current = await exportGraph();
    await importFile('future.json', JSON.stringify({ ...current, version: 99 }));
    await until(() => text(page.locator('[data-testid="open-error"]'))).toContain('newer FaceChain Studio (graph version 99)');
    await page.getByRole('button', { name: 'OK' }).click();
    expect(await exportGraph()).toEqual(current);
  });

  it('saves on the server and opens it again', async () => {
    const current = await exportGraph();
    await page.getByRole('button', { name: 'Save as…' }).click();
    await page.locator('.fc-modal input').fill('e2e-graph');
    await page.locator('.fc-modal').getByRole('button', { name: 'Save' }).click();
    await visible(toast().filter({ hasText: 'Saved as "e2e-graph"' }));
    await clearCanvas();
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('[data-user-graph="e2e-graph"]').click();
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    expect(await exportGraph()).toEqual(current);
  });

  it('copies and pastes nodes with the keyboard; a wire dropped on the canvas adds a node that takes it', async () => {
    await node('grid').locator('.fc-node-header').click();
    await page.keyboard.press(`${mod}+c`);
    const pane = (await page.locator('.react-flow__pane').boundingBox())!;
    await page.mouse.move(pane.x + 40, pane.y + 40);
    await page.keyboard.press(`${mod}+v`);
    await until(nodeIds).toContain('grid-2');
    const wires = await edges().count();
    // Somewhere empty, away from the pasted node's output.
    const from = await centre(handle('grid-2', 'image', 'source'));
    const spot = (await page.evaluate(
      `(() => { for (let y = 80; y < innerHeight - 80; y += 40) for (let x = 300; x < innerWidth - 300; x += 40) {
        const el = document.elementFromPoint(x, y);
        if (el && el.classList.contains('react-flow__pane') && Math.hypot(x - ${from.x}, y - ${from.y}) > 250) return { x, y };
      } })()`,
    )) as { x: number; y: number };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(spot.x, spot.y, { steps: 8 });
    await page.mouse.up();
    const search = page.locator('.fc-quick input');
    await visible(search);
    expect(await search.getAttribute('placeholder')).toContain('takes IMAGE');
    await search.fill('preview');
    await page.keyboard.press('Enter');
    await until(nodeIds).toContain('preview-2');
    await count(edges(), wires + 1);
    // Paste, then the quick add with its wire: two undo steps.
    for (let i = 0; i < 2; i++) await page.keyboard.press(`${mod}+z`);
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
  });

  it('cancels a running run', async () => {
    // Big resizes and rotations of the six demo photos: long enough to cancel mid-way.
    const slow = {
      format: 'facechain-graph',
      version: 1,
      name: 'slow',
      nodes: [
        { id: 'load', type: 'image/load-images', params: { path: 'samples' }, position: { x: 0, y: 0 } },
        { id: 'big', type: 'image/resize', params: { width: 6000, height: 6000, fit: 'fill' }, position: { x: 320, y: 0 } },
        { id: 'turn', type: 'image/rotate', params: { angle: 33 }, position: { x: 640, y: 0 } },
        { id: 'show', type: 'image/preview', params: {}, position: { x: 960, y: 0 } },
      ],
      edges: [
        { from: { node: 'load', port: 'images' }, to: { node: 'big', port: 'images' } },
        { from: { node: 'big', port: 'images' }, to: { node: 'turn', port: 'images' } },
        { from: { node: 'turn', port: 'images' }, to: { node: 'show', port: 'images' } },
      ],
    };
    await importFile('slow.json', JSON.stringify(slow));
    await until(nodeIds).toEqual(['load', 'big', 'turn', 'show']);
    await page.locator('.fc-run').click();
    await until(runStatus).toBe('running');
    // A node part-way through shows a moving bar; those after it wait with a queued badge.
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLElement>('.fc-progress-bar')].some((b) => parseFloat(b.style.width) > 0), null, { polling: 'raf' });
    expect(await node('show').locator('.fc-node').getAttribute('data-state')).toBe('queued');
    expect(await text(node('show').locator('.fc-badge'))).toBe('queued');
    await page.getByRole('button', { name: /Cancel/ }).click();
    await until(runStatus).toBe('cancelled');
    await count(page.locator('.fc-node[data-state="running"]'), 0);
    expect(await node('show').locator('.fc-node').getAttribute('data-state')).toBe('idle');
  });

  it('autosaves: a reload keeps the working graph and picks up its last run', async () => {
    const before = await exportGraph();
    await page.reload();
    await until(nodeIds).toEqual(['load', 'big', 'turn', 'show']);
    expect(await exportGraph()).toEqual(before);
    await until(runStatus).toBe('cancelled');
  });

  it("marks a node that fails while running, with the server's message", async () => {
    const broken = {
      format: 'facechain-graph',
      version: 1,
      name: 'broken',
      nodes: [
        { id: 'load', type: 'image/load-images', params: { path: 'no-such-folder' }, position: { x: 0, y: 0 } },
        { id: 'show', type: 'image/preview', params: {}, position: { x: 340, y: 0 } },
      ],
      edges: [{ from: { node: 'load', port: 'images' }, to: { node: 'show', port: 'images' } }],
    };
    await importFile('broken.json', JSON.stringify(broken));
    await until(nodeIds).toEqual(['load', 'show']);
    await page.locator('.fc-run').click();
    await until(runStatus).toBe('failed');
    const message = server.context.queue.list()[0]!.state.nodes.load?.error;
    expect(message).toContain('no-such-folder');
    await until(() => node('load').locator('.fc-node').getAttribute('data-state')).toBe('error');
    expect(await text(node('load').locator('.fc-node-error'))).toContain(message);
    expect(await text(node('load').locator('.fc-badge'))).toBe('error');
  });

  it('lists earlier runs and opens the graph one ran, with its node states', async () => {
    const failed = server.context.queue.list()[0]!.state.runId;
    await openExample('image-basics');
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    await page.getByRole('button', { name: 'Runs', exact: true }).click();
    const row = page.locator(`[data-run="${failed}"]`);
    await visible(row);
    expect(await row.getAttribute('data-status')).toBe('failed');
    expect(await text(row)).toContain('broken');
    expect(await text(row)).toContain('no-such-folder');
    const listed = await page.locator('[data-run]').evaluateAll((els) => els.map((e) => e.getAttribute('data-run')));
    expect(listed).toEqual((await (await fetch(`${server.url}/api/runs`)).json()).map((r: { runId: string }) => r.runId));
    await row.click();
    await until(nodeIds).toEqual(['load', 'show']);
    await until(() => node('load').locator('.fc-node').getAttribute('data-state')).toBe('error');
    await until(runStatus).toBe('failed');
    // Opening it is one undo step, like any other open.
    await page.keyboard.press(`${mod}+z`);
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
  });

  it('keeps an autosaved draft it cannot read, opens the first example and says so', async () => {
    const future = JSON.stringify({ graph: { ...(await exportGraph()), version: 99 } });
    // Off the app first: leaving it autosaves, which would overwrite the draft written here.
    await page.goto(`${server.url}/api/health`);
    await page.evaluate((d) => localStorage.setItem('facechain.editor.draft.v1', d), future);
    await page.goto(server.url);
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    const notice = toast().filter({ hasText: 'The autosaved graph could not be opened: This graph was made by a newer FaceChain Studio (graph version 99)' });
    await visible(notice);
    expect(await text(notice)).toContain('kept unchanged in this browser\'s storage under "facechain.editor.draft.unreadable"');
    expect(await page.evaluate(() => localStorage.getItem('facechain.editor.draft.unreadable'))).toBe(future);
    await notice.click();
    await count(notice, 0);
  });

  it('moves a seed on after each run when its control says so, and keeps the choice in the graph', async () => {
    await openExample('txt2img');
    await until(nodeIds).toContain('sampler');
    const seed = node('sampler').locator('[data-field="seed"] input[type="number"]');
    const start = Number(await seed.inputValue());
    await node('sampler').locator('[data-field="seed"] select').selectOption('increment');
    await page.locator('.fc-run').click();
    await until(async () => Number(await seed.inputValue())).toBe(start + 1);
    await until(runStatus).toMatch(/finished|failed/);
    expect(((await exportGraph()).meta as Record<string, unknown>).seedControl).toEqual({ 'sampler.seed': 'increment' });
  });
  it("runs up to a node from its menu, leaving what comes after it alone; the model picker lists the store's files", async () => {
    await openExample('image-basics');
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    await node('resize').locator('.fc-node-header').click({ button: 'right' });
    await page.locator('.fc-menu').getByText('Run up to here').click();
    await until(runStatus).toBe('finished');
    expect(await node('resize').locator('.fc-node').getAttribute('data-state')).toMatch(/done|cached/);
    for (const after of ['grid', 'save']) expect(await node(after).locator('.fc-node').getAttribute('data-state'), after).toBe('idle');

    mkdirSync(path.join(dataDir, 'models', 'loras'), { recursive: true });
    writeFileSync(path.join(dataDir, 'models', 'loras', 'my-style.safetensors'), Buffer.alloc(3 * 1024));
    writeFileSync(path.join(dataDir, 'models', 'loras', 'old.ckpt'), Buffer.alloc(10));
    const graph = { format: 'facechain-graph', version: 1, name: 'picker', nodes: [{ id: 'lora', type: 'lora/load', params: {}, position: { x: 0, y: 0 } }], edges: [] };
    await importFile('picker.json', JSON.stringify(graph));
    const options = node('lora').locator('[data-field="file"] select option');
    // A fresh data folder also has the demo model's two LoRAs (runtime/sample-inputs.ts).
    await until(() => options.allTextContents()).toEqual(['(none)', 'demo-style-blue.safetensors · 125 KB', 'demo-style-sepia.safetensors · 125 KB', 'my-face-lora.safetensors · 125 KB', 'my-style.safetensors · 3.0 KB']);
    // A checkpoint picker offers the built-in models before the store's files.
    await importFile('picker-ckpt.json', JSON.stringify({ ...graph, nodes: [{ id: 'ckpt', type: 'sd/load-checkpoint', params: {}, position: { x: 0, y: 0 } }] }));
    const checkpoints = node('ckpt').locator('[data-field="checkpoint"] select option');
    await until(() => checkpoints.allTextContents()).toEqual(['(none)', 'tiny (built in)', 'demo (built in)']);
  });
});

describe('editor with an access token', { timeout: 180_000 }, () => {
  it('keeps ?token= for the session and sends it on REST and WebSocket', async () => {
    const tokenDir = tempDir('e2e-token');
    const guarded = await startServer({ port: 0, dataDir: tokenDir, token: 'e2e-secret' });
    const p = await browser.newPage();
    p.setDefaultTimeout(60_000);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await p.goto(`${guarded.url}/?token=e2e-secret`);
      await nodeCount(p, 5);
      expect(p.url()).not.toContain('token');
      await p.reload();
      await nodeCount(p, 5);
      await visible(p.locator('.fc-live.is-open'));
    } finally {
      await p.close();
      await guarded.close();
      rmSync(tokenDir, { recursive: true, force: true });
    }
  });
});

describe('editor after a server stopped mid-run', { timeout: 180_000 }, () => {
  it('offers Re-queue for the interrupted run and shows the new run live', async () => {
    // The record a server killed while running image-basics leaves behind.
    const stoppedDir = tempDir('e2e-requeue');
    const graph = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../graphs/image-basics.json'), 'utf8'));
    const runId = 'interrupted-run';
    const events: RunEvent[] = [
      { type: 'run.queued', runId, time: 1_000, position: 0 },
      { type: 'run.started', runId, time: 1_001, nodes: graph.nodes.map((n: { id: string }) => n.id) },
    ];
    const view = events.reduce(reduceRun, newRun(runId));
    await new RunHistory(openDataFolders(stoppedDir).runs).save(runSummary(view, graph.name, events), events, graph);
    const restarted = await startServer({ port: 0, dataDir: stoppedDir });
    const p = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    p.setDefaultTimeout(60_000);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await p.goto(restarted.url);
      await nodeCount(p, 5);
      await p.getByRole('button', { name: 'Runs', exact: true }).click();
      await p.locator(`[data-requeue="${runId}"]`).click();
      await until(() => p.locator('.fc-run-status').getAttribute('data-status')).toBe('finished');
      const runs = (await (await fetch(`${restarted.url}/api/runs`)).json()) as { runId: string; status: string; interrupted?: string }[];
      expect(runs.map((r) => [r.status, r.interrupted])).toEqual([
        ['finished', undefined],
        ['failed', 'running'],
      ]);
      // Only the interrupted run offers it; opened, its log offers it too.
      await p.getByRole('button', { name: 'Runs', exact: true }).click();
      await visible(p.locator(`[data-run="${runs[0]!.runId}"]`));
      expect(await p.locator('[data-requeue]').evaluateAll((els) => els.map((e) => e.getAttribute('data-requeue')))).toEqual([runId]);
      await p.locator(`[data-run="${runId}"]`).click();
      await until(() => p.locator('.fc-run-status').getAttribute('data-status')).toBe('failed');
      await p.locator(`[data-requeue-log="${runId}"]`).click();
      await until(async () => ((await (await fetch(`${restarted.url}/api/runs`)).json()) as { status: string }[]).map((r) => r.status)).toEqual(['finished', 'finished', 'failed']);
      await until(() => p.locator('.fc-run-status').getAttribute('data-status')).toBe('finished');
      expect(await p.locator('[data-requeue-log]').count()).toBe(0);
    } finally {
      await p.close();
      await restarted.close();
      rmSync(stoppedDir, { recursive: true, force: true });
    }
  });
});

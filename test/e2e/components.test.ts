import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dialog, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { openEditorPage, type EditorPage } from './browser.ts';

/**
 * Components and unknown node types in real headless Chromium against the real server. The tests run in
 * order on one page and build on each other's state.
 */
let server: RunningServer;
let page: Page;
let dataDir: string;

const node = (id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
const nodeIds = () => page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
const mod = process.platform === 'darwin' ? 'Meta' : 'Control';
const until = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 60_000, interval: 50 });
const examplesDir = path.join(import.meta.dirname, '../../graphs');

type Doc = { version: number; nodes: { id: string; type: string; params: Record<string, unknown> }[]; edges: unknown[]; components?: Record<string, { params: Record<string, unknown> }> };

async function exportGraph(): Promise<Doc> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  return JSON.parse(readFileSync((await download.path())!, 'utf8'));
}

/** Clicks, answering the browser's prompt(s) that follow with `answers` in turn. */
async function answering(answers: string[], click: () => Promise<void>) {
  const left = [...answers];
  const onDialog = (d: Dialog) => void d.accept(left.shift());
  page.on('dialog', onDialog);
  try {
    await click();
    await until(() => left.length).toBe(0);
  } finally {
    page.off('dialog', onDialog);
  }
}

async function menu(id: string, item: string) {
  await node(id).locator('.fc-node-header').click({ button: 'right' });
  await page.locator('.fc-menu').getByText(item, { exact: true }).click();
}

async function field(l: Locator, value: string) {
  await l.fill(value);
  await l.blur();
}

async function undo() {
  await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
  await page.keyboard.press(`${mod}+z`);
}

let editor: EditorPage;
beforeAll(async () => {
  editor = await openEditorPage('e2e-components');
  ({ server, page, dataDir } = editor);
});

afterEach(() => {
  expect(editor.pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await editor?.close();
});

describe('components in the editor', { timeout: 300_000 }, () => {
  it('makes a component of 4 nodes, renames a port, exposes a param, runs, edits inside, and undoes it all step by step', async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('[data-example="image-basics"]').click();
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    const original = await exportGraph();

    await node('resize').locator('.fc-node-header').click();
    for (const id of ['grid', 'preview', 'save']) await node(id).locator('.fc-node-header').click({ modifiers: [mod] });
    await answering(['Sheet'], () => menu('resize', 'Make component…'));
    await until(nodeIds).toEqual(['load', 'sheet']);
    await until(() => page.locator('.react-flow__edge').count()).toBe(1);

    // Rename the component's input: double-click its name.
    await answering(['photos'], () => node('sheet').locator('.fc-port.is-in .fc-port-name', { hasText: 'images' }).dblclick());
    await until(() => node('sheet').locator('.fc-port.is-in .fc-port-name').allTextContents()).toEqual(['photos']);
    expect((await exportGraph()).edges).toEqual([{ from: { node: 'load', port: 'images' }, to: { node: 'sheet', port: 'photos' } }]);

    // Edit inside (double-click), expose the grid's columns, change an inner param, back by the breadcrumb.
    await node('sheet').locator('.fc-port.is-in .fc-port-type').dblclick();
    await until(nodeIds).toEqual(['resize', 'grid', 'preview', 'save']);
    await until(() => page.locator('.fc-breadcrumb').textContent()).toMatch(/Sheet$/);
    await answering(['columns', 'columns'], () => menu('grid', 'Expose param…'));
    await field(node('resize').locator('[data-field="width"] input[type="number"]'), '200');
    await page.locator('.fc-breadcrumb button').first().click();
    await until(nodeIds).toEqual(['load', 'sheet']);
    const columns = node('sheet').locator('[data-field="columns"] input[type="number"]');
    await until(() => columns.inputValue()).toBe('3');
    await field(columns, '2');

    // Run: the flat graph runs; the instance shows the state of the nodes inside it.
    await page.locator('.fc-run').click();
    await until(() => page.locator('.fc-run-status').getAttribute('data-status')).toBe('finished');
    await until(() => node('sheet').locator('.fc-node').getAttribute('data-state')).toBe('done');
    const grouped = await exportGraph();
    expect(grouped.nodes.find((n) => n.id === 'sheet')!.params).toEqual({ columns: 2 });
    expect(grouped.components!.sheet!.params).toEqual({ columns: { node: 'grid', param: 'columns' } });

    // Undo, one step at a time, each visible.
    await undo(); // Set columns
    await until(() => columns.inputValue()).toBe('3');
    await undo(); // Set width (inside)
    await until(async () => (await exportGraph()).components?.sheet).toMatchObject({ nodes: expect.arrayContaining([expect.objectContaining({ id: 'resize', params: expect.objectContaining({ width: 384 }) })]) });
    await undo(); // Expose param
    await until(() => node('sheet').locator('[data-field="columns"]').count()).toBe(0);
    await undo(); // Rename port
    await until(() => node('sheet').locator('.fc-port.is-in .fc-port-name').allTextContents()).toEqual(['images']);
    await undo(); // Make component
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    expect(await exportGraph()).toEqual(original);
  });

  it('opens a graph with an unknown node type and an unknown param, refuses to run it, and saves those parts byte for byte', async () => {
    if (page.url() === 'about:blank') await page.goto(server.url);
    const doc = JSON.parse(readFileSync(path.join(examplesDir, 'image-basics.json'), 'utf8'));
    const resize = doc.nodes.findIndex((n: { id: string }) => n.id === 'resize');
    // Keys in an order zod would not write them, a version, nested values: all must come back as they were.
    doc.nodes[resize] = { type: 'vendor/upscale', params: { factor: 2.5, model: { name: 'x4', tiles: [1, 2] } }, id: 'resize', version: 3, position: { y: 80, x: 320 } };
    doc.nodes.find((n: { id: string }) => n.id === 'grid').params.futureParam = { nested: ['a', 1] };
    await page.locator('[data-testid="import-file"]').setInputFiles({ name: 'unknown.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(doc, null, 2)) });
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    const placeholder = node('resize').locator('[data-testid="missing-node"]');
    await until(() => placeholder.textContent()).toContain('vendor/upscale');
    expect(await node('resize').locator('.fc-node').getAttribute('class')).toMatch(/is-missing/);
    // Its wires are intact: both edges of the placeholder are drawn.
    await until(() => page.locator('.react-flow__edge').count()).toBe(doc.edges.length);

    await page.locator('.fc-run').click();
    await page.locator('.fc-log .fc-pill.is-error').waitFor();
    if (!(await page.locator('.fc-log.is-open').count())) await page.locator('.fc-log-head').click();
    await until(() => page.locator('[data-testid="log"]').textContent()).toContain('This build lacks a node type: vendor/upscale (resize)');
    await until(() => page.locator('[data-testid="log"]').textContent()).toContain('Unknown param "futureParam" for image/grid');

    await page.getByRole('button', { name: 'Save as…' }).click();
    await page.locator('.fc-modal input').fill('unknown-kept');
    await page.locator('.fc-modal').getByRole('button', { name: 'Save' }).click();
    await until(() => page.locator('.fc-toast').filter({ hasText: 'Saved as "unknown-kept"' }).count()).toBe(1);
    const saved = JSON.parse(readFileSync(path.join(dataDir, 'graphs', 'unknown-kept.json'), 'utf8'));
    const bytes = (d: { nodes: { id: string }[] }, id: string) => JSON.stringify(d.nodes.find((n) => n.id === id));
    expect(bytes(saved, 'resize')).toBe(bytes(doc, 'resize'));
    expect(bytes(saved, 'grid')).toBe(bytes(doc, 'grid'));
    expect(JSON.stringify(saved.edges)).toBe(JSON.stringify(doc.edges));
    const downloaded = await exportGraph();
    expect(bytes(downloaded, 'resize')).toBe(bytes(doc, 'resize'));
  });
  it('the log links a node inside a component to it; a copied instance pastes with its definition into another graph', async () => {
    if (page.url() === 'about:blank') await page.goto(server.url);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('[data-example="image-basics"]').click();
    await until(nodeIds).toEqual(['load', 'resize', 'grid', 'preview', 'save']);
    await node('grid').locator('.fc-node-header').click();
    await node('save').locator('.fc-node-header').click({ modifiers: [mod] });
    await answering(['Sheet'], () => menu('grid', 'Make component…'));
    await until(nodeIds).toEqual(['load', 'resize', 'sheet', 'preview']);
    const definition = (await exportGraph()).components!.sheet;

    // The run's log names the inner node by its path: its link opens the component with the node selected.
    await page.locator('.fc-run').click();
    await until(() => page.locator('.fc-run-status').getAttribute('data-status')).toBe('finished');
    if (!(await page.locator('.fc-log.is-open').count())) await page.locator('.fc-log-head').click();
    await page.locator('[data-testid="log"] .fc-link', { hasText: 'sheet/save' }).first().click();
    await until(() => page.locator('.fc-breadcrumb').textContent()).toMatch(/Sheet$/);
    await until(nodeIds).toEqual(['grid', 'save']);
    await until(() => page.locator('.react-flow__node.selected').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).toEqual(['save']);
    await page.locator('.fc-breadcrumb button').first().click();
    await until(nodeIds).toEqual(['load', 'resize', 'sheet', 'preview']);

    await node('sheet').locator('.fc-node-header').click();
    await page.keyboard.press(`${mod}+c`);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('[data-example="txt2img"]').click();
    await until(nodeIds).not.toContain('sheet');
    const pane = (await page.locator('.react-flow__pane').boundingBox())!;
    await page.mouse.move(pane.x + 40, pane.y + 40);
    await page.keyboard.press(`${mod}+v`);
    await until(nodeIds).toContain('sheet');
    const pasted = await exportGraph();
    expect(pasted.nodes.find((n) => n.id === 'sheet')).toMatchObject({ type: 'component', component: 'sheet' });
    expect(pasted.components).toEqual({ sheet: definition });
    // Drawn as the component, with its ports, not as a node of a missing type.
    await until(() => node('sheet').locator('.fc-port.is-in .fc-port-name').allTextContents()).toEqual(['images']);
    expect(await node('sheet').locator('[data-testid="missing-node"]').count()).toBe(0);
  });
});

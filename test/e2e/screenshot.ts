// `npx tsx test/e2e/screenshot.ts`: docs/screenshots/editor-run.png, the editor in the middle of a run
// (finished nodes with their previews, one node running with its progress bar, one queued).
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../server/app.ts';
import { freshEditor, launchChromium } from './browser.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'docs', 'screenshots', 'editor-run.png');

const graph = {
  format: 'facechain-graph',
  version: 1,
  name: 'Demo photos: portrait crops, contact sheet, upscale',
  nodes: [
    { id: 'load', type: 'image/load-images', title: 'Demo photos', params: { path: 'samples', limit: 6, applyExif: true }, position: { x: 0, y: 40 } },
    { id: 'portrait', type: 'image/resize', title: 'Portrait 3:4', params: { width: 384, height: 512, fit: 'cover', kernel: 'lanczos3', background: '#ffffff' }, position: { x: 340, y: 40 } },
    { id: 'sheet', type: 'image/grid', title: 'Contact sheet', params: { columns: 3, cell: 256, gap: 6, background: '#14161c' }, position: { x: 680, y: -40 } },
    { id: 'save', type: 'image/save-images', params: { prefix: 'portraits' }, position: { x: 1020, y: -40 } },
    { id: 'upscale', type: 'image/resize', title: 'Upscale ×8', params: { width: 3072, height: 4096, fit: 'fill', kernel: 'lanczos3', background: '#ffffff' }, position: { x: 680, y: 420 } },
    { id: 'preview', type: 'image/preview', params: { max: 6 }, position: { x: 1020, y: 420 } },
  ],
  edges: [
    { from: { node: 'load', port: 'images' }, to: { node: 'portrait', port: 'images' } },
    { from: { node: 'portrait', port: 'images' }, to: { node: 'sheet', port: 'images' } },
    { from: { node: 'sheet', port: 'image' }, to: { node: 'save', port: 'images' } },
    { from: { node: 'portrait', port: 'images' }, to: { node: 'upscale', port: 'images' } },
    { from: { node: 'upscale', port: 'images' }, to: { node: 'preview', port: 'images' } },
  ],
};

await freshEditor();
const dataDir = tempDir('shot');
const server = await startServer({ port: 0, dataDir });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(server.url);
  await page.waitForSelector('.react-flow__node');
  await page.locator('[data-testid="import-file"]').setInputFiles({ name: 'demo.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(graph)) });
  await page.waitForSelector('.react-flow__node[data-id="upscale"]');
  await page.waitForTimeout(500);
  await page.locator('.fc-run').click();
  // The upscale node works through six big images, one progress step each.
  await page.waitForFunction(() => {
    const bar = document.querySelector<HTMLElement>('.react-flow__node[data-id="upscale"] .fc-progress-bar');
    return bar !== null && parseFloat(bar.style.width) >= 30;
  }, null, { timeout: 120_000, polling: 50 });
  await page.mouse.move(1360, 760);
  mkdirSync(path.dirname(OUT), { recursive: true });
  await page.screenshot({ path: OUT });
  console.log(`wrote ${path.relative(ROOT, OUT)}`);
  await page.getByRole('button', { name: /Cancel/ }).click();
} finally {
  await browser.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}

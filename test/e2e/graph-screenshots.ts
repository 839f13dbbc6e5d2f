// `npx tsx test/e2e/graph-screenshots.ts [graph-id ...]`: docs/screenshots/graph-<id>.png, each shipped
// graph open in the editor after a run on a fresh data folder (sample photos, the tiny model), with the
// nodes' states and previews. Graphs that need LoRA files get random tiny-model LoRAs under the names
// their Load LoRA nodes use, and a face photo in input/my-face.png. The adaptive-weights graph runs on
// the tiny architecture with a picture-keeping VAE (the plain tiny model draws no faces to score).
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tiny } from '../../models/sd/config.ts';
import { startServer } from '../../server/app.ts';
import { writePictureCheckpoint } from '../adaptive/picture-vae.ts';
import { randomLora, writeTinyLoras } from '../lora/random-lora.ts';
import { singleFace } from '../preprocess/photos.ts';
import { freshEditor, launchChromium } from './browser.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const wanted = process.argv.slice(2);
const graphs = readdirSync(path.join(ROOT, 'graphs'))
  .filter((f) => f.endsWith('.json') && f !== 'schema.json')
  .map((f) => f.slice(0, -5))
  .filter((id) => !wanted.length || wanted.includes(id));

await freshEditor();
const dataDir = tempDir('graph-shots');
const server = await startServer({ port: 0, dataDir });
await writeTinyLoras(
  path.join(dataDir, 'models'),
  Object.fromEntries(['my-face-lora', 'my-style-lora', 'my-second-style-lora'].map((name, i) => [`${name}.safetensors`, randomLora(tiny, { seed: 40 + i, rank: 4 })])),
);
await (await singleFace(1, 0)).resize(700, 700, { fit: 'cover', position: 'top' }).png().toFile(path.join(dataDir, 'input', 'my-face.png'));
await writePictureCheckpoint(path.join(dataDir, 'models'));
/** Per-graph param changes for the screenshot run. */
const tweaks: Record<string, Record<string, Record<string, unknown>>> = {
  'adaptive-weights': {
    checkpoint: { checkpoint: 'tiny-picture.safetensors' },
    adaptive: { width: 384, height: 384, strength: 0.15, steps: 10, cfg: 5, scheduler: 'ddim' },
    sampler: { width: 384, height: 384, strength: 0.15, steps: 10, cfg: 5, scheduler: 'ddim' },
  },
};
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(server.url);
  await page.waitForSelector('.react-flow__node');
  mkdirSync(OUT, { recursive: true });
  for (const id of graphs) {
    const graph = JSON.parse(readFileSync(path.join(ROOT, 'graphs', `${id}.json`), 'utf8'));
    for (const [node, params] of Object.entries(tweaks[id] ?? {})) Object.assign(graph.nodes.find((n: { id: string }) => n.id === node).params, params);
    const doc = Buffer.from(JSON.stringify(graph));
    await page.locator('[data-testid="import-file"]').setInputFiles({ name: `${id}.json`, mimeType: 'application/json', buffer: doc });
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node').length === n, graph.nodes.length);
    await page.locator('.fc-run').click();
    await page.waitForFunction(() => /finished|failed|cancelled/.test(document.querySelector('.fc-run-status')?.getAttribute('data-status') ?? ''), null, { timeout: 300_000 });
    const status = await page.locator('.fc-run-status').getAttribute('data-status');
    await page.waitForTimeout(800);
    await page.mouse.move(1360, 760);
    const file = path.join(OUT, `graph-${id}.png`);
    await page.screenshot({ path: file });
    console.log(`wrote ${path.relative(ROOT, file)} (run ${status})`);
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}

// `npx tsx test/e2e/graph-screenshots.ts [graph-id ...]`: docs/screenshots/graph-<id>.png, each shipped
// graph open in the editor at 1366x768 after a run, as shipped, on a fresh data folder (sample photos,
// the demo model, the demo LoRAs first start installs), with the nodes' states and previews; for a graph
// built from components also graph-<id>-<instance>.png, the inside of each. test/e2e/zoom.test.ts checks
// at the same size that the portrait graph's titles and previews read there.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../server/app.ts';
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
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(server.url);
  await page.waitForSelector('.react-flow__node');
  mkdirSync(OUT, { recursive: true });
  for (const id of graphs) {
    const graph = JSON.parse(readFileSync(path.join(ROOT, 'graphs', `${id}.json`), 'utf8'));
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
    // A graph built from components: each one's inside too, opened as a user would, graph-<id>-<instance>.png.
    for (const n of graph.nodes as { id: string; type: string; component?: string }[]) {
      if (n.type !== 'component' || !n.component) continue;
      await page.locator(`.react-flow__node[data-id="${n.id}"] .fc-node-header`).click({ button: 'right' });
      await page.locator('.fc-menu').getByText('Edit inside', { exact: true }).click();
      const inner = graph.components[n.component].nodes.length;
      await page.waitForFunction((count) => document.querySelector('.fc-breadcrumb strong') !== null && document.querySelectorAll('.react-flow__node').length === count, inner);
      await page.waitForTimeout(800);
      await page.mouse.move(1360, 760);
      const inside = path.join(OUT, `graph-${id}-${n.id}.png`);
      await page.screenshot({ path: inside });
      console.log(`wrote ${path.relative(ROOT, inside)}`);
      await page.locator('.fc-breadcrumb button').first().click();
      await page.waitForFunction((count) => document.querySelectorAll('.react-flow__node').length === count, graph.nodes.length);
    }
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureEditorBuilt } from '../../cli/editor-build.ts';
import { faceModelsDir, prepareFaceModels } from '../../models/face/face-models.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { sharedDir, tempDir } from '../helpers/temp.ts';

/** Builds editor/dist when it is missing or stale, so browser runs see this checkout (never an old build). */
export async function freshEditor(): Promise<void> {
  const state = await ensureEditorBuilt();
  if ('warning' in state) throw new Error(state.warning);
}

/** Headless Chromium from the Debian package, never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * The editor at 1366x768 on a server over a new, empty data folder (label names the temp folder), with the
 * face models converted once for the test run copied in rather than converted again.
 */
export async function editorOnFreshData(label: string): Promise<{ server: RunningServer; browser: Browser; page: Page }> {
  await freshEditor();
  const dataDir = tempDir(label);
  const converted = faceModelsDir(path.join(dataDir, 'models'));
  mkdirSync(converted, { recursive: true });
  for (const file of Object.values(await prepareFaceModels(sharedDir('face-models')))) copyFileSync(file, path.join(converted, path.basename(file)));
  const server = await startServer({ port: 0, dataDir });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.setDefaultTimeout(30_000);
  await page.goto(server.url);
  await page.waitForSelector('.react-flow__node');
  return { server, browser, page };
}

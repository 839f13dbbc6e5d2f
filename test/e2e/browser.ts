import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
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

export interface EditorPage {
  server: RunningServer;
  browser: Browser;
  page: Page;
  dataDir: string;
  /** Uncaught errors in the page, for the tests to fail on. */
  pageErrors: string[];
  close(): Promise<void>;
}

export interface EditorPageOptions {
  viewport?: { width: number; height: number };
  /** Copies in the face models converted once for the test run, so the data folder need not convert them. */
  faceModels?: boolean;
}

/** The real server on a new, empty temp data folder and one Chromium page for it, with generous waits for a loaded machine. */
export async function openEditorPage(name: string, opts: EditorPageOptions = {}): Promise<EditorPage> {
  await freshEditor();
  const dataDir = tempDir(name);
  if (opts.faceModels) {
    const converted = faceModelsDir(path.join(dataDir, 'models'));
    mkdirSync(converted, { recursive: true });
    for (const file of Object.values(await prepareFaceModels(sharedDir('face-models')))) copyFileSync(file, path.join(converted, path.basename(file)));
  }
  const server = await startServer({ port: 0, dataDir });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1600, height: 1000 }, acceptDownloads: true });
  // Generous: on a loaded 2-core machine a render or a run can take many seconds.
  page.setDefaultTimeout(60_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    server,
    browser,
    page,
    dataDir,
    pageErrors,
    async close() {
      await browser.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The editor at 1366x768 on a fresh data folder with the face models in place, its example graph drawn. */
export async function editorOnFreshData(label: string): Promise<EditorPage> {
  const editor = await openEditorPage(label, { viewport: { width: 1366, height: 768 }, faceModels: true });
  await editor.page.goto(editor.server.url);
  await editor.page.waitForSelector('.react-flow__node');
  return editor;
}

import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = path.join(ROOT, 'editor', 'vite.config.ts');
const INDEX = path.join(ROOT, 'editor', 'dist', 'index.html');
/** What the bundle is made of: a newer file here means the build is stale. */
const SOURCES = ['editor/src', 'editor/index.html', 'editor/vite.config.ts', 'runtime'].map((p) => path.join(ROOT, p));

function newest(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

/** Builds editor/dist when it is missing or older than its sources, so browser tests see this checkout. */
export async function ensureEditorBuilt(): Promise<void> {
  if (existsSync(INDEX) && statSync(INDEX).mtimeMs >= Math.max(...SOURCES.map(newest))) return;
  const { build } = await import('vite');
  await build({ configFile: CONFIG, logLevel: 'warn' });
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

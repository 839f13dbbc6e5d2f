import { chromium, type Browser } from 'playwright-core';
import { ensureEditorBuilt } from '../../cli/editor-build.ts';

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

import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The part of Vite used here (dev dependency: absent after `npm install --omit=dev`). */
export interface ViteBuilder {
  build(config: { configFile: string; logLevel: 'warn' }): Promise<unknown>;
}

export interface EditorBuildSetup {
  /** The built app's entry page: its mtime is the build's time. */
  index: string;
  /** Files and folders the bundle is made from: a newer file in any of them means the build is stale. */
  sources: string[];
  configFile: string;
  /** Imports Vite; rejects with ERR_MODULE_NOT_FOUND when it is not installed. */
  importVite: () => Promise<ViteBuilder>;
}

export const EDITOR_BUILD: EditorBuildSetup = {
  index: path.join(ROOT, 'editor', 'dist', 'index.html'),
  // The editor imports protocol/ (the shared contract); the lock file pins React, React Flow and Vite itself.
  sources: ['editor/src', 'editor/index.html', 'editor/vite.config.ts', 'protocol', 'package-lock.json'].map((p) => path.join(ROOT, p)),
  configFile: path.join(ROOT, 'editor', 'vite.config.ts'),
  importVite: () => import('vite'),
};

export type EditorBuildState =
  | { kind: 'fresh' | 'built' }
  /** Vite is missing: the old build is served, or there is none and only the API runs. */
  | { kind: 'stale' | 'missing'; warning: string };

const INSTALL_HINT = 'run `npm install`, then `npm run build:editor`';

/** Newest mtime under a file or folder (0 for a path that is not there). */
function newest(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

async function viteOrUndefined(setup: EditorBuildSetup): Promise<ViteBuilder | undefined> {
  try {
    return await setup.importVite();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

/**
 * Builds the editor with Vite when the build is missing or older than its sources (a fresh checkout,
 * a pull). Without Vite (a production-only install) it never throws: it says what is served and what to run.
 */
export async function ensureEditorBuilt(
  setup: EditorBuildSetup = EDITOR_BUILD,
  /** Told before a build starts (it takes a while), with why. */
  onBuild: (why: string) => void = () => {},
): Promise<EditorBuildState> {
  const built = existsSync(setup.index) ? statSync(setup.index).mtimeMs : undefined;
  if (built !== undefined && built >= Math.max(...setup.sources.map(newest))) return { kind: 'fresh' };
  const vite = await viteOrUndefined(setup);
  if (!vite) {
    return built === undefined
      ? { kind: 'missing', warning: `The editor is not built and vite is not installed (production-only install): ${INSTALL_HINT}. Only the API is served.` }
      : { kind: 'stale', warning: `The editor build is older than its sources and vite is not installed (production-only install): serving the old build; ${INSTALL_HINT} to update it.` };
  }
  onBuild(built === undefined ? 'no build yet' : 'its sources changed since the last build');
  await vite.build({ configFile: setup.configFile, logLevel: 'warn' });
  return { kind: 'built' };
}

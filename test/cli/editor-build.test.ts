import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EDITOR_BUILD, ensureEditorBuilt, type EditorBuildSetup } from '../../cli/editor-build.ts';
import { editorLink } from '../../cli/serve.ts';
import { tempDir } from '../helpers/temp.ts';

/** A fake checkout in a temp folder: sources and a build with chosen mtimes, Vite replaced by a recorder. */
let dir: string;
const T0 = new Date('2025-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);

function touch(file: string, time: Date) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, 'x');
  utimesSync(file, time, time);
}

function setup(vite: 'installed' | 'missing') {
  const builds: string[] = [];
  const index = path.join(dir, 'editor/dist/index.html');
  const s: EditorBuildSetup = {
    index,
    sources: [path.join(dir, 'editor/src'), path.join(dir, 'runtime'), path.join(dir, 'package-lock.json')],
    configFile: path.join(dir, 'editor/vite.config.ts'),
    importVite: async () => {
      if (vite === 'missing') throw Object.assign(new Error("Cannot find package 'vite'"), { code: 'ERR_MODULE_NOT_FOUND' });
      return {
        build: async (config) => {
          builds.push(config.configFile);
          touch(index, new Date());
        },
      };
    },
  };
  return { s, builds };
}

beforeEach(() => {
  dir = tempDir('editor-build');
  touch(path.join(dir, 'editor/src/core/a.ts'), T0);
  touch(path.join(dir, 'runtime/deep/b.ts'), T0);
  touch(path.join(dir, 'package-lock.json'), T0);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('editor build on start', () => {
  it("watches what the bundle is made of: the editor, protocol/ (the contract it imports) and the lock file", () => {
    const root = path.resolve(import.meta.dirname, '../..');
    expect(EDITOR_BUILD.sources.map((p) => path.relative(root, p)).sort()).toEqual(
      ['editor/index.html', 'editor/src', 'editor/vite.config.ts', 'package-lock.json', 'protocol'],
    );
  });

  it('builds when there is no build yet, saying why', async () => {
    const { s, builds } = setup('installed');
    const why: string[] = [];
    expect(await ensureEditorBuilt(s, (w) => why.push(w))).toEqual({ kind: 'built' });
    expect(builds).toEqual([s.configFile]);
    expect(why).toEqual(['no build yet']);
  });

  it('skips a build newer than every source', async () => {
    const { s, builds } = setup('installed');
    touch(s.index, later(10));
    expect(await ensureEditorBuilt(s)).toEqual({ kind: 'fresh' });
    expect(builds).toEqual([]);
  });

  it('rebuilds when a source deep in a folder, or the lock file, is newer than the build', async () => {
    for (const changed of ['runtime/deep/b.ts', 'package-lock.json']) {
      const { s, builds } = setup('installed');
      touch(s.index, later(10));
      touch(path.join(dir, changed), later(20));
      const why: string[] = [];
      expect(await ensureEditorBuilt(s, (w) => why.push(w)), changed).toEqual({ kind: 'built' });
      expect(builds).toEqual([s.configFile]);
      expect(why).toEqual(['its sources changed since the last build']);
      // The new build is newer than the sources: the next start does nothing.
      expect(await ensureEditorBuilt(s)).toEqual({ kind: 'fresh' });
    }
  });

  it('without Vite keeps a stale build, or serves only the API, and says what to run', async () => {
    const { s } = setup('missing');
    const missing = await ensureEditorBuilt(s);
    expect(missing).toMatchObject({ kind: 'missing' });
    expect('warning' in missing && missing.warning).toContain(
      'The editor is not built and vite is not installed (production-only install): run `npm install`, then `npm run build:editor`',
    );
    touch(s.index, later(10));
    touch(path.join(dir, 'editor/src/core/a.ts'), later(20));
    const stale = await ensureEditorBuilt(s);
    expect(stale).toMatchObject({ kind: 'stale' });
    expect('warning' in stale && stale.warning).toMatch(/serving the old build; run `npm install`, then `npm run build:editor`/);
  });

  it('does not hide other failures to load Vite', async () => {
    const { s } = setup('installed');
    s.importVite = async () => {
      throw new Error('vite exploded');
    };
    await expect(ensureEditorBuilt(s)).rejects.toThrow('vite exploded');
  });
});

describe('serve link', () => {
  it('carries the access token, URL-encoded, when there is one', () => {
    expect(editorLink('http://127.0.0.1:7860')).toBe('http://127.0.0.1:7860');
    expect(editorLink('http://127.0.0.1:7860', 'a b/c&d')).toBe('http://127.0.0.1:7860/?token=a%20b%2Fc%26d');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Api } from '../../editor/src/core/api.ts';
import type { GraphList } from '../../protocol/index.ts';
import { loadDraft, saveDraft, UNREADABLE_DRAFT_KEY } from '../../editor/src/core/autosave.ts';
import { EditorStore } from '../../editor/src/core/editor-store.ts';
import { graphFromText } from '../../editor/src/core/graph-io.ts';
import { Notices } from '../../editor/src/core/notices.ts';
import { RunStore } from '../../editor/src/core/run-store.ts';
import { Session } from '../../editor/src/core/session.ts';
import { commandFor } from '../../editor/src/core/shortcuts.ts';
import { catalogIndex } from './helpers.ts';

const basicsText = readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8');
const basics = graphFromText(basicsText);
const key = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

function memoryStorage() {
  const mem = new Map<string, string>();
  return { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v), mem };
}

describe('keyboard shortcuts', () => {
  it('maps keys to commands with Ctrl, or Cmd on macOS', () => {
    expect(commandFor(key('z', { ctrlKey: true }), false)).toBe('undo');
    expect(commandFor(key('Z', { ctrlKey: true, shiftKey: true }), false)).toBe('redo');
    expect(commandFor(key('y', { ctrlKey: true }), false)).toBe('redo');
    expect(commandFor(key('z', { metaKey: true }), true)).toBe('undo');
    expect(commandFor(key('z', { ctrlKey: true }), true)).toBeUndefined();
    expect(commandFor(key('Enter', { ctrlKey: true }), false)).toBe('run');
    expect(commandFor(key('Enter', { ctrlKey: true, shiftKey: true }), false)).toBe('cancel');
    expect(commandFor(key('Delete'), false)).toBe('delete');
    expect(commandFor(key('f'), false)).toBe('fitView');
    expect(commandFor(key('f', { altKey: true }), false)).toBeUndefined();
    expect(commandFor(key('?', { shiftKey: true }), false)).toBe('help');
    expect(commandFor(key('q'), false)).toBeUndefined();
  });
});

describe('duplicate', () => {
  it('copies the selection next to itself, wires included', () => {
    const store = new EditorStore(catalogIndex(), basics);
    store.select(['resize', 'grid']);
    expect(store.duplicateSelection()).toEqual(['resize-2', 'grid-2']);
    expect(store.doc.nodes.find((n) => n.id === 'resize-2')?.position).toEqual({ x: 360, y: 120 });
    expect(store.doc.edges.at(-1)).toEqual({ from: { node: 'resize-2', port: 'images' }, to: { node: 'grid-2', port: 'images' } });
  });
});

describe('autosave draft', () => {
  it('round-trips graph, viewport, saved name and last run', () => {
    const storage = memoryStorage();
    expect(loadDraft(storage)).toEqual({ kind: 'none' });
    saveDraft(storage, { graph: basics, viewport: { x: 1, y: 2, zoom: 0.5 }, savedAs: 'mine', runId: 'r1' });
    expect(loadDraft(storage)).toEqual({ kind: 'draft', draft: { graph: basics, viewport: { x: 1, y: 2, zoom: 0.5 }, savedAs: 'mine', runId: 'r1' } });
    expect(storage.mem.has(UNREADABLE_DRAFT_KEY)).toBe(false);
  });

  it('sets a draft that no longer reads aside under its own key, saying what is wrong', () => {
    const storage = memoryStorage();
    const [k] = (saveDraft(storage, { graph: basics }), [...storage.mem.keys()]);
    storage.setItem(k!, '{broken');
    expect(loadDraft(storage)).toMatchObject({ kind: 'unreadable', problem: expect.stringMatching(/^it is not JSON/), kept: true });
    expect(storage.mem.get(UNREADABLE_DRAFT_KEY)).toBe('{broken');
    const future = JSON.stringify({ graph: { ...basics, version: 99 } });
    storage.setItem(k!, future);
    expect(loadDraft(storage)).toMatchObject({ kind: 'unreadable', problem: expect.stringContaining('newer FaceChain Studio (graph version 99)'), kept: true });
    expect(storage.mem.get(UNREADABLE_DRAFT_KEY)).toBe(future);
    storage.setItem(k!, JSON.stringify({ graph: basics, viewport: { x: 'left' } }));
    expect(loadDraft(storage)).toMatchObject({ kind: 'unreadable', problem: expect.stringMatching(/^it is damaged:\n.*viewport\.x/s) });
  });

  it('reports a full storage instead of throwing', () => {
    const full = { getItem: () => '{broken', setItem: () => { throw new DOMException('quota', 'QuotaExceededError'); } };
    expect(saveDraft(full, { graph: basics })).toBe(false);
    expect(loadDraft(full)).toMatchObject({ kind: 'unreadable', kept: false });
  });
});

describe('editor start', () => {
  /** The server part the start needs: the examples list and the first example. */
  class ExamplesApi extends Api {
    override graphs = async (): Promise<GraphList> => ({ examples: [{ id: 'image-basics', name: 'Image basics' }], user: [] });
    override example = async (): Promise<unknown> => JSON.parse(basicsText);
  }

  function session(storage: ReturnType<typeof memoryStorage>) {
    const api = new ExamplesApi('http://server.invalid');
    const store = new EditorStore(catalogIndex());
    const notices = new Notices();
    const urls = { create: () => 'blob:x', revoke: () => {} };
    return { s: new Session(api, store, new RunStore(api, urls), notices, storage), store, notices };
  }

  it('reopens a readable draft without telling anyone', async () => {
    const storage = memoryStorage();
    const mine = { ...basics, name: 'mine', nodes: basics.nodes.slice(0, 2), edges: basics.edges.slice(0, 1) };
    saveDraft(storage, { graph: mine, savedAs: 'mine' });
    const { s, store, notices } = session(storage);
    await s.start();
    expect(store.doc).toEqual(mine);
    expect(s.getSnapshot().savedAs).toBe('mine');
    expect(notices.getSnapshot()).toEqual([]);
  });

  it('opens the example over an unreadable draft, keeping the draft and a notice that stays until read', async () => {
    vi.useFakeTimers();
    try {
      const storage = memoryStorage();
      const future = JSON.stringify({ graph: { ...basics, version: 99, name: 'from the future' } });
      storage.setItem('facechain.editor.draft.v1', future);
      const { s, store, notices } = session(storage);
      await s.start();
      expect(store.doc.name).toBe(basics.name);
      const [notice] = notices.getSnapshot();
      expect(notice!.level).toBe('error');
      expect(notice!.text).toContain('The autosaved graph could not be opened: This graph was made by a newer FaceChain Studio (graph version 99)');
      expect(notice!.text).toContain(`kept unchanged in this browser's storage under "${UNREADABLE_DRAFT_KEY}"`);
      // The example autosaves over the draft key; the unreadable draft stays where the notice says.
      s.flushAutosave();
      expect(loadDraft(storage)).toMatchObject({ kind: 'draft', draft: { graph: { name: basics.name } } });
      expect(storage.mem.get(UNREADABLE_DRAFT_KEY)).toBe(future);
      vi.advanceTimersByTime(60_000);
      expect(notices.getSnapshot()).toEqual([notice]);
      notices.dismiss(notice!.id);
      expect(notices.getSnapshot()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('notices', () => {
  it('shows the same message once, newest last, and expires', () => {
    vi.useFakeTimers();
    try {
      const n = new Notices();
      n.push('warn', 'refused');
      n.push('info', 'saved');
      n.push('warn', 'refused');
      expect(n.getSnapshot().map((x) => x.text)).toEqual(['saved', 'refused']);
      vi.advanceTimersByTime(10_000);
      expect(n.getSnapshot()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { loadDraft, saveDraft } from '../../editor/src/core/autosave.ts';
import { EditorStore } from '../../editor/src/core/editor-store.ts';
import { graphFromText } from '../../editor/src/core/graph-io.ts';
import { Notices } from '../../editor/src/core/notices.ts';
import { commandFor } from '../../editor/src/core/shortcuts.ts';
import { catalogIndex } from './helpers.ts';

const basics = graphFromText(readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8'));
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
    expect(loadDraft(storage)).toBeUndefined();
    saveDraft(storage, { graph: basics, viewport: { x: 1, y: 2, zoom: 0.5 }, savedAs: 'mine', runId: 'r1' });
    expect(loadDraft(storage)).toEqual({ graph: basics, viewport: { x: 1, y: 2, zoom: 0.5 }, savedAs: 'mine', runId: 'r1' });
  });

  it('ignores a draft that no longer reads instead of failing', () => {
    const storage = memoryStorage();
    const [k] = (saveDraft(storage, { graph: basics }), [...storage.mem.keys()]);
    storage.setItem(k, '{broken');
    expect(loadDraft(storage)).toBeUndefined();
    storage.setItem(k, JSON.stringify({ graph: { ...basics, version: 99 } }));
    expect(loadDraft(storage)).toBeUndefined();
  });

  it('reports a full storage instead of throwing', () => {
    const full = { getItem: () => null, setItem: () => { throw new DOMException('quota', 'QuotaExceededError'); } };
    expect(saveDraft(full, { graph: basics })).toBe(false);
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

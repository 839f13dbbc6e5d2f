import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EditorStore } from '../../editor/src/core/editor-store.ts';
import { graphFromText, graphToText } from '../../editor/src/core/graph-io.ts';
import { seedControlOf } from '../../editor/src/core/seed-control.ts';
import { catalogIndex } from './helpers.ts';

const txt2img = () => graphFromText(readFileSync(new URL('../../graphs/txt2img.json', import.meta.url), 'utf8'));
const seed = (store: EditorStore) => store.doc.nodes.find((n) => n.id === 'sampler')!.params.seed;

describe('seed control after a run', () => {
  it('keeps a fixed seed, adds one, or draws a new one; each advance is one undo step', () => {
    const store = new EditorStore(catalogIndex(), txt2img());
    expect(seedControlOf(store.doc, 'sampler', 'seed')).toBe('fixed');
    const start = seed(store) as number;
    store.advanceSeeds();
    expect(seed(store)).toBe(start);
    expect(store.doc.meta?.seedControl).toBeUndefined();

    store.setSeedControl('sampler', 'seed', 'increment');
    expect(seedControlOf(store.doc, 'sampler', 'seed')).toBe('increment');
    store.advanceSeeds();
    store.advanceSeeds();
    expect(seed(store)).toBe(start + 2);
    store.history.undo();
    expect(seed(store)).toBe(start + 1);

    store.setSeedControl('sampler', 'seed', 'randomize');
    store.advanceSeeds(() => 0.5);
    expect(seed(store)).toBe(2 ** 31);

    // The choice travels with the graph file; 'fixed' leaves no trace.
    expect(seedControlOf(graphFromText(graphToText(store.doc)), 'sampler', 'seed')).toBe('randomize');
    store.setSeedControl('sampler', 'seed', 'fixed');
    expect(store.doc.meta?.seedControl).toBeUndefined();
  });

  it('wraps at the largest seed and ignores broken or stale entries', () => {
    const doc = txt2img();
    doc.nodes.find((n) => n.id === 'sampler')!.params.seed = 2 ** 32 - 1;
    doc.meta = { ...doc.meta, seedControl: { 'sampler.seed': 'increment', 'gone.seed': 'randomize' } };
    const store = new EditorStore(catalogIndex(), doc);
    store.advanceSeeds();
    expect(seed(store)).toBe(0);
    const broken = new EditorStore(catalogIndex(), { ...txt2img(), meta: { seedControl: { 'sampler.seed': 'sometimes' } } });
    expect(seedControlOf(broken.doc, 'sampler', 'seed')).toBe('fixed');
  });
});

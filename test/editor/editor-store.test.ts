import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EditorStore } from '../../editor/src/core/editor-store.ts';
import { FlowMapper } from '../../editor/src/core/flow-mapping.ts';
import { edgeKey } from '../../editor/src/core/graph-edit.ts';
import { graphFromText } from '../../editor/src/core/graph-io.ts';
import { catalogIndex } from './helpers.ts';

const basics = () => graphFromText(readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8'));

describe('editor store', () => {
  it('adds nodes with readable ids and every default param', () => {
    const store = new EditorStore(catalogIndex(), basics());
    const id = store.addNode('image/resize', { x: 10.4, y: 20.6 });
    expect(id).toBe('resize-2');
    expect(store.doc.nodes.at(-1)).toEqual({
      id: 'resize-2',
      type: 'image/resize',
      params: { width: 512, height: 512, fit: 'cover', kernel: 'lanczos3', background: '#ffffff' },
      position: { x: 10, y: 21 },
      version: 1,
    });
    expect([...store.getSnapshot().selectedNodes]).toEqual(['resize-2']);
    expect(store.getSnapshot().undoLabel).toBe('Add Resize');
  });

  it('one input takes one wire: connecting again replaces, a refused wire changes nothing', () => {
    const store = new EditorStore(catalogIndex(), basics());
    const r = store.connect({ node: 'load', port: 'image' }, { node: 'grid', port: 'images' });
    expect(r).toMatchObject({ ok: true, widened: true });
    expect(store.doc.edges.filter((e) => e.to.node === 'grid')).toEqual([{ from: { node: 'load', port: 'image' }, to: { node: 'grid', port: 'images' } }]);
    const before = store.doc;
    const refused = store.connect({ node: 'save', port: 'files' }, { node: 'preview', port: 'images' });
    expect(refused).toEqual({ ok: false, reason: 'STRING cannot feed a IMAGES input (it accepts IMAGES or IMAGE or MASK)' });
    expect(store.doc).toBe(before);
  });

  it('adds a node for a dangling wire, wired to its first matching port, in one undo step', () => {
    const store = new EditorStore(catalogIndex(), basics());
    const { id, check } = store.addNodeWired('image/rotate', { x: 0, y: 400 }, { node: 'load', port: 'image', side: 'out' });
    expect(check).toMatchObject({ ok: true, widened: true });
    expect(store.doc.edges.at(-1)).toEqual({ from: { node: 'load', port: 'image' }, to: { node: id, port: 'images' } });
    const fromInput = store.addNodeWired('image/grid', { x: 0, y: 800 }, { node: 'preview', port: 'images', side: 'in' });
    expect(store.doc.edges.find((e) => e.to.node === 'preview')?.from).toEqual({ node: fromInput.id, port: 'image' });
    store.undo();
    store.undo();
    expect(store.doc).toEqual(basics());
  });

  it('moves a wire end, keeping the old wire when the new place is refused', () => {
    const store = new EditorStore(catalogIndex(), basics());
    const old = edgeKey(store.doc.edges[2]!); // resize -> preview
    expect(store.reconnect(old, { node: 'save', port: 'files' }, { node: 'preview', port: 'images' }).ok).toBe(false);
    expect(store.doc.edges.map(edgeKey)).toContain(old);
    expect(store.reconnect(old, { node: 'load', port: 'images' }, { node: 'preview', port: 'images' }).ok).toBe(true);
    expect(store.doc.edges.find((e) => e.to.node === 'preview')?.from.node).toBe('load');
    store.disconnect([edgeKey(store.doc.edges.find((e) => e.to.node === 'preview')!)]);
    expect(store.doc.edges.some((e) => e.to.node === 'preview')).toBe(false);
    expect(store.getSnapshot().undoLabel).toBe('Remove wire');
  });

  it('deletes the selection with its wires in one undo step', () => {
    const store = new EditorStore(catalogIndex(), basics());
    store.select(['resize']);
    store.deleteSelection();
    expect(store.doc.nodes.map((n) => n.id)).toEqual(['load', 'grid', 'preview', 'save']);
    expect(store.doc.edges).toHaveLength(1);
    store.undo();
    expect(store.doc).toEqual(basics());
  });

  it('a drag is one undo step; sizes and selection from React Flow are not undone', () => {
    const store = new EditorStore(catalogIndex(), basics());
    for (let i = 1; i <= 30; i++) store.applyNodeChanges([{ id: 'load', type: 'position', position: { x: i, y: 80 }, dragging: true }]);
    store.applyNodeChanges([{ id: 'load', type: 'position', dragging: false }]);
    store.applyNodeChanges([{ id: 'grid', type: 'position', position: { x: 700, y: 0 }, dragging: true }]);
    store.applyNodeChanges([
      { id: 'load', type: 'dimensions', dimensions: { width: 260, height: 200 } },
      { id: 'grid', type: 'select', selected: true },
    ]);
    expect(store.doc.nodes[0]!.position).toEqual({ x: 30, y: 80 });
    expect(store.history.depth).toBe(2);
    store.undo();
    store.undo();
    expect(store.doc.nodes[0]!.position).toEqual({ x: 0, y: 80 });
    expect(store.getSnapshot().measured.get('load')).toEqual({ width: 260, height: 200 });
    expect([...store.getSnapshot().selectedNodes]).toEqual(['grid']);
  });

  it('typing into one field is one undo step', () => {
    const store = new EditorStore(catalogIndex(), basics());
    for (const v of [5, 51, 512]) store.setParam('resize', 'width', v);
    store.seal();
    store.setParam('resize', 'height', 100);
    expect(store.history.depth).toBe(2);
    store.undo();
    store.undo();
    expect(store.doc.nodes[1]!.params.width).toBe(384);
  });

  it('copies and pastes a selection with its inner wires under fresh ids', () => {
    const store = new EditorStore(catalogIndex(), basics());
    store.select(['resize', 'grid']);
    const fragment = store.copySelection()!;
    expect(fragment.edges).toEqual([{ from: { node: 'resize', port: 'images' }, to: { node: 'grid', port: 'images' } }]);
    const ids = store.paste(fragment, { x: 1000, y: 500 });
    expect(ids).toEqual(['resize-2', 'grid-2']);
    const pasted = store.doc.nodes.filter((n) => ids.includes(n.id));
    expect(pasted.map((n) => n.position)).toEqual([{ x: 1000, y: 580 }, { x: 1320, y: 500 }]);
    expect(store.doc.edges.at(-1)).toEqual({ from: { node: 'resize-2', port: 'images' }, to: { node: 'grid-2', port: 'images' } });
    expect([...store.getSnapshot().selectedNodes]).toEqual(ids);
  });

  it('maps to React Flow elements, reusing unchanged objects', () => {
    const store = new EditorStore(catalogIndex(), basics());
    const mapper = new FlowMapper(store.catalog);
    const n1 = mapper.nodes(store.getSnapshot());
    const e1 = mapper.edges(store.getSnapshot());
    expect(n1[0]).toMatchObject({ id: 'load', type: 'graph', position: { x: 0, y: 80 }, selected: false });
    expect(e1[0]).toMatchObject({ source: 'load', sourceHandle: 'images', target: 'resize', targetHandle: 'images', style: { stroke: '#0288d1' } });
    store.setParam('grid', 'gap', 2);
    const n2 = mapper.nodes(store.getSnapshot());
    expect(n2.filter((n, i) => n !== n1[i]).map((n) => n.id)).toEqual(['grid']);
    // Nothing about the wires changed: the very same array, so React Flow skips its edge bookkeeping.
    expect(mapper.edges(store.getSnapshot())).toBe(e1);
    // A measurement keeps the array and objects (React Flow measured them itself) but shows on them.
    const n3 = mapper.nodes(store.getSnapshot());
    store.applyNodeChanges([{ id: 'save', type: 'dimensions', dimensions: { width: 280, height: 120 } }]);
    expect(mapper.nodes(store.getSnapshot())).toBe(n3);
    expect(n3.find((n) => n.id === 'save')?.measured).toEqual({ width: 280, height: 120 });
    store.setParam('save', 'prefix', 'x');
    expect(mapper.nodes(store.getSnapshot()).find((n) => n.id === 'save')?.measured).toEqual({ width: 280, height: 120 });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EditorStore } from '../../editor/src/core/editor-store.ts';
import { FlowMapper } from '../../editor/src/core/flow-mapping.ts';
import { graphFromText, graphToText } from '../../editor/src/core/graph-io.ts';
import { createRegistry } from '../../nodes/index.ts';
import { flatten } from '../../protocol/index.ts';
import { checkGraph } from '../../runtime/validate.ts';
import { catalogIndex } from './helpers.ts';

const basics = () => graphFromText(readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8'));

describe('editor components', () => {
  it('makes a component, renames a port, exposes a param, edits inside, and undoes it all step by step', () => {
    const catalog = catalogIndex();
    const original = basics();
    const store = new EditorStore(catalog, original);
    store.select(['resize', 'grid', 'preview', 'save']);
    const id = store.makeComponent('Sheet')!;
    expect(id).toBe('sheet');
    const made = store.doc;
    expect(made.nodes.map((n) => n.id)).toEqual(['load', 'sheet']);
    expect(made.edges).toEqual([{ from: { node: 'load', port: 'images' }, to: { node: 'sheet', port: 'images' } }]);
    // The instance is drawn with the ports and types of the inner ports it stands for.
    expect(catalog.node('component:sheet')).toMatchObject({ title: 'Sheet', inputs: [{ name: 'images', type: 'IMAGES' }], outputs: [{ name: 'files', type: 'STRING' }] });

    expect(store.renamePort('sheet', 'in', 'images', 'photos')).toBe(true);
    expect(store.doc.edges).toEqual([{ from: { node: 'load', port: 'images' }, to: { node: 'sheet', port: 'photos' } }]);
    expect(store.renamePort('sheet', 'out', 'files', '')).toBe(false);

    expect(store.enter('sheet')).toBe(true);
    const snap = store.getSnapshot();
    expect(snap.prefix).toBe('sheet/');
    expect(new FlowMapper(catalog).nodes(snap).map((n) => n.id)).toEqual(['resize', 'grid', 'preview', 'save']);
    expect(store.exposeParam('grid', 'columns', 'columns')).toBe(true);
    store.setParam('grid', 'gap', 2);
    expect(store.doc.components!.sheet!.nodes.find((n) => n.id === 'grid')!.params.gap).toBe(2);
    // Default of the exposed param: the inner node's value; its range: the inner param's.
    expect(catalog.fields('component:sheet')).toMatchObject([{ key: 'columns', default: 3, kind: 'number' }]);
    store.leave(0);
    expect(store.getSnapshot().path).toEqual([]);
    store.setParam('sheet', 'columns', 2);

    // What the editor made runs: the flat graph validates against the real registry.
    const r = checkGraph(store.doc, createRegistry());
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(flatten(store.doc).nodes.find((n) => n.id === 'sheet/grid')!.params).toMatchObject({ columns: 2, gap: 2 });
    expect(graphFromText(graphToText(store.doc))).toEqual(store.doc);

    const labels: string[] = [];
    for (let label = store.undo(); label; label = store.undo()) labels.push(label);
    expect(labels).toEqual(['Set columns', 'Set gap', 'Expose param columns', 'Rename port images to photos', 'Make component Sheet']);
    expect(store.doc).toEqual(original);
  });

  it('an undo that takes away the component being edited shows the level that is left', () => {
    const store = new EditorStore(catalogIndex(), basics());
    store.select(['grid', 'save']);
    store.makeComponent('Out');
    store.enter('out');
    // Unchanged while only the selection changes (the canvas frames the view when it changes).
    const path = store.getSnapshot().path;
    store.select(['grid']);
    expect(store.getSnapshot().path).toBe(path);
    store.undo();
    expect(store.getSnapshot().path).toEqual([]);
    expect(store.getSnapshot().level).toBe(store.doc);
  });

  it('nests: a component made inside a component is defined once in the document', () => {
    const store = new EditorStore(catalogIndex(), basics());
    store.select(['resize', 'grid', 'preview', 'save']);
    store.makeComponent('Sheet');
    store.enter('sheet');
    store.select(['grid', 'save']);
    expect(store.makeComponent('Write')).toBe('write');
    expect(Object.keys(store.doc.components!)).toEqual(['sheet', 'write']);
    expect(store.doc.components!.sheet!.nodes.map((n) => n.id)).toEqual(['resize', 'write', 'preview']);
    store.enter('write');
    expect(store.getSnapshot().prefix).toBe('sheet/write/');
    const r = checkGraph(store.doc, createRegistry());
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(flatten(store.doc).nodes.map((n) => n.id).sort()).toEqual(['load', 'sheet/preview', 'sheet/resize', 'sheet/write/grid', 'sheet/write/save']);
  });

  it('keeps a node of a missing type with its params and wires, drawn with a handle per wire, and saves it unchanged', () => {
    const text = readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8').replace(
      '"type": "image/resize"',
      '"type": "vendor/upscale", "version": 3',
    );
    const doc = JSON.parse(text);
    doc.nodes.find((n: { id: string }) => n.id === 'grid').params.futureParam = { nested: [1, 'two'] };
    const catalog = catalogIndex();
    const store = new EditorStore(catalog, graphFromText(JSON.stringify(doc)));
    const flow = new FlowMapper(catalog).nodes(store.getSnapshot()).find((n) => n.id === 'resize')!;
    expect(flow.data.def).toBeUndefined();
    expect(flow.data.wired).toEqual({ inputs: ['images'], outputs: ['images'] });
    store.setParam('grid', 'columns', 4);
    const saved = JSON.parse(graphToText(store.doc));
    expect(JSON.stringify(saved.nodes.find((n: { id: string }) => n.id === 'resize'))).toBe(JSON.stringify(doc.nodes.find((n: { id: string }) => n.id === 'resize')));
    expect(saved.nodes.find((n: { id: string }) => n.id === 'grid').params.futureParam).toEqual({ nested: [1, 'two'] });
    expect(saved.edges).toEqual(doc.edges);
  });
});

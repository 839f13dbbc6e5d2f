import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { instanceImageNode } from '../../editor/src/core/component-state.ts';
import { EditorStore } from '../../editor/src/core/editor-store.ts';
import { FlowMapper } from '../../editor/src/core/flow-mapping.ts';
import { graphFromText, graphToText } from '../../editor/src/core/graph-io.ts';
import { createRegistry } from '../../nodes/index.ts';
import { flatten } from '../../protocol/index.ts';
import { checkGraph } from '../../runtime/validate.ts';
import { catalogIndex } from './helpers.ts';

/** basics() with a "Sheet" component of four nodes holding a nested "Write" (grid, save); back at the top level. */
function nestedSheet(store: EditorStore): void {
  store.select(['resize', 'grid', 'preview', 'save']);
  store.makeComponent('Sheet');
  store.enter('sheet');
  store.select(['grid', 'save']);
  store.makeComponent('Write');
  store.leave(0);
}

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
  it('copies an instance with its definitions, so it pastes into another graph and runs there', () => {
    const catalog = catalogIndex();
    const source = new EditorStore(catalog, basics());
    nestedSheet(source);
    source.select(['sheet']);
    // Through the clipboard's text, as Ctrl+C / Ctrl+V carry it.
    const clip = graphFromText(graphToText(source.copySelection()!));
    expect(Object.keys(clip.components!).sort()).toEqual(['sheet', 'write']);

    const txt2img = graphFromText(readFileSync(new URL('../../graphs/txt2img.json', import.meta.url), 'utf8'));
    const target = new EditorStore(catalog, txt2img);
    const [pasted] = target.paste(clip, { x: 0, y: 900 });
    expect(target.doc.nodes.find((n) => n.id === pasted)).toMatchObject({ type: 'component', component: 'sheet' });
    expect(target.doc.components).toEqual(source.doc.components);
    // The catalog knows the pasted component: the instance is drawn with its ports.
    expect(catalog.node('component:sheet')?.inputs.map((p) => p.name)).toEqual(['images']);
    const decode = target.doc.nodes.find((n) => n.type === 'sd/vae-decode')!.id;
    expect(target.connect({ node: decode, port: 'images' }, { node: pasted!, port: 'images' }).ok).toBe(true);
    const r = checkGraph(target.doc, createRegistry());
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(flatten(target.doc).nodes.map((n) => n.id)).toEqual(expect.arrayContaining(['sheet/resize', 'sheet/write/grid', 'sheet/write/save']));

    // Pasted again: the same definitions are reused, not copied.
    const [again] = target.paste(clip, { x: 400, y: 900 });
    expect(target.doc.nodes.find((n) => n.id === again)?.component).toBe('sheet');
    expect(Object.keys(target.doc.components!).sort()).toEqual(['sheet', 'write']);

    // Into a graph whose own "sheet" and "write" are something else: they join under fresh ids, nested ones repointed.
    const other = new EditorStore(catalog, basics());
    other.select(['grid']);
    other.makeComponent('Sheet');
    other.select(['save']);
    other.makeComponent('Write');
    const [third] = other.paste(clip, { x: 0, y: 900 });
    const id = other.doc.nodes.find((n) => n.id === third)!.component!;
    expect(id).toBe('sheet-2');
    expect(other.doc.components!['sheet-2']!.nodes.find((n) => n.type === 'component')?.component).toBe('write-2');
    expect(other.doc.components!['write-2']).toEqual(source.doc.components!.write);
    expect(other.doc.components!.sheet!.nodes.map((n) => n.id)).toEqual(['grid']);
    // One undo step takes the instance and the definitions it brought.
    expect(other.undo()).toBe('Paste 1 node');
    expect(Object.keys(other.doc.components!).sort()).toEqual(['sheet', 'write']);
  });
  it('reveals a node by the flat id a log line names: enters the components on its path and selects it', () => {
    const store = new EditorStore(catalogIndex(), basics());
    nestedSheet(store);

    expect(store.reveal('sheet/write/grid')).toBe(true);
    let snap = store.getSnapshot();
    expect(snap.path).toEqual([{ instance: 'sheet', component: 'sheet' }, { instance: 'write', component: 'write' }]);
    expect([...snap.selectedNodes]).toEqual(['grid']);
    // The same level again: the path is the same object (the canvas does not reframe), the selection moves.
    expect(store.reveal('sheet/write/save')).toBe(true);
    expect(store.getSnapshot().path).toBe(snap.path);
    expect([...store.getSnapshot().selectedNodes]).toEqual(['save']);
    // A top-level node from inside: back out.
    expect(store.reveal('load')).toBe(true);
    snap = store.getSnapshot();
    expect(snap.path).toEqual([]);
    expect([...snap.selectedNodes]).toEqual(['load']);
    // Names of nodes the graph does not have change nothing.
    for (const id of ['sheet/nope', 'load/grid', 'nope/grid', 'sheet/grid']) expect(store.reveal(id), id).toBe(false);
    expect(store.getSnapshot()).toBe(snap);
  });
  it('an instance shows the images of the node inside it that made the run\'s latest preview', () => {
    const previews = {
      'post/fuse': { runId: 'r', previewId: 7 },
      'post/save': { runId: 'r', previewId: 9 },
      'postx/save': { runId: 'r', previewId: 12 },
      'generate/sampler': { runId: 'r', previewId: 11 },
    };
    expect(instanceImageNode(previews, {}, 'post')).toBe('post/save');
    expect(instanceImageNode(previews, {}, 'generate')).toBe('generate/sampler');
    // After a reload there are no previews: the full-size outputs of a node inside it.
    expect(instanceImageNode({}, { 'preprocess/crop': { images: 3 }, 'post/fuse': { images: 4 } }, 'post')).toBe('post/fuse');
    expect(instanceImageNode(previews, {}, 'train')).toBeUndefined();
  });
});

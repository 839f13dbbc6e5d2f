import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EditorStore, emptyGraph } from '../../editor/src/core/editor-store.ts';
import {
  GraphOpenError,
  graphFileName,
  graphFromFile,
  graphFromPng,
  graphFromText,
  graphToText,
  layoutMissing,
  unknownTypes,
} from '../../editor/src/core/graph-io.ts';
import { GRAPH_PNG_KEYWORD, addPngText } from '../../protocol/index.ts';
import { catalogIndex } from './helpers.ts';

const basicsText = readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8');
// A 1x1 PNG.
const TINY_PNG = Uint8Array.from(
  atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='),
  (c) => c.charCodeAt(0),
);

describe('graph import/export', () => {
  it('round-trips a shipped graph through the editor state', () => {
    const original = JSON.parse(basicsText);
    const store = new EditorStore(catalogIndex());
    store.load(graphFromText(basicsText));
    expect(JSON.parse(graphToText(store.doc))).toEqual({ ...original, version: 2 });
  });

  it('round-trips after edits and their undo', () => {
    const store = new EditorStore(catalogIndex(), graphFromText(basicsText));
    const before = graphToText(store.doc);
    store.setParam('resize', 'width', 640);
    store.addNode('image/rotate', { x: 5, y: 5 });
    store.select(['grid']);
    store.deleteSelection();
    expect(graphToText(store.doc)).not.toBe(before);
    while (store.undo());
    expect(graphToText(store.doc)).toBe(before);
  });

  it('gives a clear message for newer, foreign and damaged files', () => {
    const newer = { ...JSON.parse(basicsText), version: 7 };
    expect(() => graphFromText(JSON.stringify(newer))).toThrow(/newer FaceChain Studio \(graph version 7\)/);
    expect(() => graphFromText('{"nodes": []}')).toThrow(/Not a FaceChain Studio graph/);
    expect(() => graphFromText('{oops')).toThrow(GraphOpenError);
    const broken = { ...JSON.parse(basicsText), nodes: [{ id: 'a b', type: 'x' }] };
    expect(() => graphFromText(JSON.stringify(broken))).toThrow(/damaged[\s\S]*nodes\[0\]\.id/);
  });

  it('reads the graph a save node embedded in a PNG, and refuses PNGs without one', () => {
    const graph = graphFromText(basicsText);
    const png = addPngText(TINY_PNG, GRAPH_PNG_KEYWORD, JSON.stringify({ graph, node: 'save', runId: 'r1' }));
    expect(graphFromPng(png)).toEqual({ graph, node: 'save', runId: 'r1' });
    expect(graphFromFile(png).graph).toEqual(graph);
    expect(() => graphFromPng(TINY_PNG)).toThrow(/carries no graph/);
    const future = addPngText(TINY_PNG, GRAPH_PNG_KEYWORD, JSON.stringify({ graph: { ...graph, version: 3 } }));
    expect(() => graphFromFile(future)).toThrow(/newer/);
    expect(graphFromFile(new TextEncoder().encode(basicsText)).graph).toEqual(graph);
  });

  it('lays out nodes without positions and names downloads', () => {
    const g = graphFromText(basicsText);
    const bare = { ...g, nodes: g.nodes.map(({ position: _p, ...n }) => n) };
    const laid = layoutMissing(bare);
    const x = Object.fromEntries(laid.nodes.map((n) => [n.id, n.position!.x]));
    expect(x).toEqual({ load: 0, resize: 320, grid: 640, preview: 640, save: 960 });
    expect(layoutMissing(g)).toBe(g);
    expect(graphFileName(g)).toBe('Image-basics-load-resize-contact-sheet-save.json');
    expect(graphFileName(emptyGraph('//'))).toBe('graph.json');
  });

  it('lists node types the catalog does not know', () => {
    const g = graphFromText(basicsText);
    expect(unknownTypes({ ...g, nodes: [...g.nodes, { id: 'x', type: 'future/thing', params: {} }] }, catalogIndex())).toEqual(['future/thing']);
  });
});

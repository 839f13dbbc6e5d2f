import { describe, expect, it } from 'vitest';
import { checkConnection } from '../../editor/src/core/connections.ts';
import { graphFromText } from '../../editor/src/core/graph-io.ts';
import { readFileSync } from 'node:fs';
import { CatalogIndex } from '../../editor/src/core/catalog-index.ts';
import { compatibility, PORT_TYPE_NAMES } from '../../protocol/index.ts';
import { catalogIndex, realCatalog, sampleNode } from './helpers.ts';

const basics = graphFromText(readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8'));
const index = catalogIndex([sampleNode()]);
const ref = (node: string, port: string) => ({ node, port });

describe('connection rules', () => {
  it('accepts matching and widened types and says which wire it replaces', () => {
    const same = checkConnection(basics, index, ref('load', 'images'), ref('grid', 'images'));
    expect(same).toEqual({ ok: true, widened: false, replaces: basics.edges[1] });
    const widened = checkConnection(basics, index, ref('load', 'image'), ref('save', 'images'));
    expect(widened).toMatchObject({ ok: true, widened: true, replaces: basics.edges[3] });
  });

  it('refuses incompatible types with the reason the server gives', () => {
    expect(checkConnection(basics, index, ref('save', 'files'), ref('grid', 'images'))).toEqual({
      ok: false,
      reason: 'STRING cannot feed a IMAGES input (it accepts IMAGES or IMAGE or MASK)',
    });
  });

  it("takes the type rule from the catalog's feeds lists, agreeing with the server's for every pair", () => {
    for (const from of PORT_TYPE_NAMES) for (const to of PORT_TYPE_NAMES) expect(index.compatibility(from, to), `${from} -> ${to}`).toEqual(compatibility(from, to));
    // A server whose catalog says text feeds image lists: the editor follows it, not its own build.
    const c = realCatalog();
    const lenient = new CatalogIndex({ ...c, portTypes: { ...c.portTypes, STRING: { ...c.portTypes.STRING, feeds: ['STRING', 'IMAGES'] } } });
    expect(lenient.compatibility('STRING', 'IMAGES')).toEqual({ ok: true, widened: true });
    expect(lenient.groups('', { side: 'out', type: 'STRING' }).flatMap((g) => g.nodes.map((n) => n.type))).toContain('image/grid');
    expect(lenient.compatibility('NUMBER', 'IMAGES')).toEqual({ ok: false, reason: 'NUMBER cannot feed a IMAGES input (it accepts IMAGES or IMAGE or MASK or STRING)' });
  });

  it('refuses cycles, self loops and unknown ports', () => {
    expect(checkConnection(basics, index, ref('grid', 'image'), ref('resize', 'images'))).toEqual({
      ok: false,
      reason: 'That would make a cycle: grid → resize → grid',
    });
    expect(checkConnection(basics, index, ref('resize', 'images'), ref('resize', 'images'))).toMatchObject({ ok: false, reason: 'A node cannot feed itself' });
    expect(checkConnection(basics, index, ref('load', 'nope'), ref('grid', 'images'))).toMatchObject({ ok: false, reason: 'image/load-images has no output "nope"' });
    expect(checkConnection(basics, index, ref('load', 'images'), ref('ghost', 'images'))).toMatchObject({ ok: false });
  });

  it('finds where a dangling wire can attach', () => {
    const sample = index.node('test/sample')!;
    expect(index.matchingPort(sample, 'out', 'IMAGE')?.name).toBe('image');
    expect(index.matchingPort(sample, 'out', 'STRING')).toBeUndefined();
    expect(index.matchingPort(sample, 'in', 'FACES')?.name).toBe('faces');
    // A STRING output (e.g. Caption faces' trigger) has one place to go: the sampler's trigger input.
    const fromString = index.groups('', { side: 'out', type: 'STRING' }).flatMap((g) => g.nodes);
    expect(fromString.map((n) => n.type)).toEqual(['sd/sampler']);
    // Dragging from an IMAGES input offers every node with an output that can feed it, and only those.
    const offered = index.groups('', { side: 'in', type: 'IMAGES' }).flatMap((g) => g.nodes);
    expect(offered.map((n) => n.type)).toEqual(expect.arrayContaining(['image/crop', 'image/grid', 'image/load-images', 'image/resize', 'image/rotate']));
    expect(offered.map((n) => n.type)).not.toContain('image/preview');
    expect(offered.map((n) => n.type)).not.toContain('image/save-images');
    for (const n of offered) expect(index.matchingPort(n, 'in', 'IMAGES')).toBeDefined();
    // Node colours follow what they make.
    expect(index.accent('image/grid')).toBe('#4fc3f7');
    expect(index.accent('image/preview')).toBe('#0288d1');
    expect(index.accent('nope/missing')).toBeUndefined();
  });
});

describe('palette search', () => {
  it('matches every word in title, type or description, best first', () => {
    expect(index.search('res').map((n) => n.type)[0]).toBe('image/resize');
    expect(index.search('contact sheet').map((n) => n.type)).toEqual(['image/grid']);
    expect(index.search('png').map((n) => n.type)).toContain('image/save-images');
    expect(index.search('nothing-like-this')).toEqual([]);
    const categories = index.groups('').map((g) => g.category);
    expect(categories).toContain('image');
    expect(categories.at(-1)).toBe('test');
    expect(new Set(categories).size).toBe(categories.length);
  });
});

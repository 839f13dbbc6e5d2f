import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addLibraryComponent, GraphSchema, groupGraph, LibraryEntrySchema, migrate, type Graph, updateFromLibrary } from '../../protocol/index.ts';
import { registryPorts } from '../../runtime/registry.ts';
import { checkGraph } from '../../runtime/validate.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { tempDir } from '../helpers/temp.ts';

let server: RunningServer;
const dataDir = tempDir('library');
const outside = tempDir('library-outside');

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, registry: testRegistry() });
});
afterAll(() => server.close());

const api = (p: string, init?: RequestInit) => fetch(`${server.url}/api${p}`, init);
const put = (p: string, body: unknown) => api(p, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** k -> add(+offset) in a component "bump" whose param "offset" is exposed. */
function withBump(offset: number): Graph {
  const flat = GraphSchema.parse(
    migrate(graph([{ id: 'k', type: 'test/constant', params: { value: 1 } }, { id: 'add', type: 'test/add', params: { offset } }], [['k', 'value', 'add', 'a']])),
  );
  return groupGraph(flat, { nodes: ['add'], component: 'bump', name: 'Bump', params: [{ node: 'add', param: 'offset' }] }, registryPorts(testRegistry()));
}

describe('component library', () => {
  it('saves components as versions in data/components/, lists and serves them', async () => {
    const first = withBump(1).components!.bump;
    expect(await (await put('/components/bump', { component: first, components: {} })).json()).toEqual({ id: 'bump', version: 1 });
    const second = withBump(2).components!.bump;
    expect(await (await put('/components/bump', { component: second, components: {} })).json()).toEqual({ id: 'bump', version: 2 });
    const stored = LibraryEntrySchema.parse(JSON.parse(readFileSync(path.join(dataDir, 'components/bump.json'), 'utf8')));
    expect(stored.version).toBe(2);
    expect(stored.component.library).toEqual({ id: 'bump', version: 2 });
    expect(await (await api('/components')).json()).toEqual([{ id: 'bump', name: 'Bump', version: 2 }]);
    expect(await (await api('/components/bump')).json()).toEqual(stored);
  });

  it('refuses bad ids, bodies that are no component, and files that lead out of the folder', async () => {
    expect((await api('/components/..%2Fx')).status).toBe(400);
    const bad = await put('/components/x', { component: { name: 'X', nodes: 'no' } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^Not a component: component.nodes/);
    writeFileSync(path.join(outside, 'secret.json'), '{"format":"facechain-component"}');
    mkdirSync(path.join(dataDir, 'components'), { recursive: true });
    symlinkSync(path.join(outside, 'secret.json'), path.join(dataDir, 'components/leak.json'));
    const leak = await api('/components/leak');
    expect(leak.status).toBe(422);
    expect(JSON.stringify(await leak.json())).not.toContain(outside);
    expect((await put('/components/leak', { component: withBump(1).components!.bump })).status).toBe(409);
  });

  it('a graph using an older version keeps its copy until updated; a newer one goes beside it', async () => {
    const v1 = LibraryEntrySchema.parse({ format: 'facechain-component', id: 'bump', version: 1, component: { ...withBump(1).components!.bump, library: { id: 'bump', version: 1 } } });
    const v2 = LibraryEntrySchema.parse(await (await api('/components/bump')).json());
    const doc = withBump(0);
    const placed = addLibraryComponent({ ...doc, components: {} }, v1);
    expect(placed.id).toBe('bump');
    const older: Graph = { ...doc, components: placed.components };
    // Adding version 2 to a graph that has version 1: the old copy stays, the new one is bump-v2.
    const both = addLibraryComponent(older, v2);
    expect(both.id).toBe('bump-v2');
    expect(both.components.bump).toBe(older.components!.bump);
    expect(addLibraryComponent({ ...older, components: both.components }, v2).id).toBe('bump-v2');
    const run = (g: Graph) => {
      const r = checkGraph(g, testRegistry());
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.checked.params.get('bump/add');
    };
    expect(run(older)).toEqual({ offset: 1 });
    // Updating: every instance of the old copy takes version 2.
    const updated = { ...older, components: updateFromLibrary(older, 'bump', v2) };
    expect(updated.components.bump!.library).toEqual({ id: 'bump', version: 2 });
    expect(run(updated)).toEqual({ offset: 2 });
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.ts';
import { expectCleanError } from '../helpers/clean-answer.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';

// Requests that used to answer 500 with a path or a stack, and saved graphs that were served as if fine.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-hostile-'));
let server: RunningServer;
let startLog = '';
const api = (p: string, init?: RequestInit) => fetch(`${server.url}/api${p}`, init);
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  const graphs = path.join(dataDir, 'graphs');
  mkdirSync(graphs, { recursive: true });
  writeFileSync(path.join(graphs, 'broken.json'), '{"format":"facechain-graph",');
  writeFileSync(path.join(graphs, 'wrong-shape.json'), JSON.stringify({ format: 'facechain-graph', version: 1, name: 'w', nodes: 5, edges: [] }));
  writeFileSync(path.join(graphs, 'fine.json'), JSON.stringify(graph([{ id: 'a', type: 'test/constant' }])));
  mkdirSync(path.join(graphs, 'folder.json'));
  mkdirSync(path.join(dataDir, 'output', 'folder-0000.png'), { recursive: true });
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((startLog += String(chunk)), true));
  try {
    server = await startServer({ port: 0, dataDir, registry: testRegistry() });
  } finally {
    write.mockRestore();
  }
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('hostile requests', () => {
  it('a bad percent-encoding in any route is a 400', async () => {
    for (const p of ['/runs/%E0%A4%A', '/runs/%E0%A4%A/events', '/graphs/user/%E0%A4%A', '/files/%ZZ.png', '/runs/%E0%A4%A/outputs/%FF/x/0']) {
      expect((await expectCleanError(await api(p), 400)).error, p).toBe('The URL has a bad percent-encoding');
    }
  });

  it('a body that is not what its headers say is a 400: fake gzip, bad JSON, unknown encoding or charset, 100k-deep JSON', async () => {
    const bodies: [string, Record<string, string>, BodyInit, RegExp][] = [
      ['fake gzip', { ...json, 'content-encoding': 'gzip' }, 'this is not gzip', /bad compression/],
      ['gzip of bad JSON', { ...json, 'content-encoding': 'gzip' }, gzipSync('{"nodes":'), /not valid JSON/],
      ['fake deflate', { ...json, 'content-encoding': 'deflate' }, 'nope', /bad compression/],
      ['unknown encoding', { ...json, 'content-encoding': 'zstd-ish' }, '{}', /Unsupported Content-Encoding/],
      ['unknown charset', { 'content-type': 'application/json; charset=klingon' }, '{}', /Unsupported charset/],
      ['bad JSON', json, '{"format":', /not valid JSON/],
      ['deep JSON', json, `${'['.repeat(100_000)}${']'.repeat(100_000)}`, /nests deeper than 100 levels/],
    ];
    for (const route of ['/validate', '/runs']) {
      for (const [what, headers, body, message] of bodies) {
        const res = await api(route, { method: 'POST', headers, body });
        expect((await expectCleanError(res, '4xx')).error, `${route} ${what}`).toMatch(message);
      }
    }
    // The gzip body a client means is still read.
    const ok = await api('/validate', { method: 'POST', headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(graph([{ id: 'a', type: 'test/constant' }]))) });
    expect(await ok.json()).toEqual({ ok: true, problems: [] });
  });

  it('a folder where a file is expected answers without the path', async () => {
    expect((await expectCleanError(await api('/files/folder-0000.png'), 400)).error).toBe('That is a folder, not a file');
    expect((await expectCleanError(await api('/inputs/thumbnail?path=samples'), 400)).error).toBe('That is a folder, not a file');
    expect((await expectCleanError(await api('/graphs/user/folder'), 422)).error).toMatch(/folder/);
  });

  it('saved graphs that cannot be opened are reported at start, marked in the list and answer 422', async () => {
    expect(startLog).toContain('Saved graph graphs/broken.json cannot be opened: not valid JSON');
    expect(startLog).toContain('Saved graph graphs/wrong-shape.json cannot be opened: not a valid graph document: nodes:');
    expect(startLog).not.toContain('fine.json');
    const { user } = await (await api('/graphs')).json();
    const byId = Object.fromEntries(user.map((g: { id: string }) => [g.id, g]));
    expect(byId.broken.problem).toMatch(/^not valid JSON/);
    expect(byId['wrong-shape'].problem).toMatch(/^not a valid graph document: nodes: /);
    expect(byId.fine.problem).toBeUndefined();
    expect((await expectCleanError(await api('/graphs/user/broken'), 422)).error).toMatch(/^The saved graph "broken" cannot be opened: not valid JSON/);
    expect((await expectCleanError(await api('/graphs/user/wrong-shape'), 422)).error).toMatch(/nodes: /);
    expect((await api('/graphs/user/fine')).status).toBe(200);
  });

  it('the server still answers', async () => {
    expect((await api('/health')).status).toBe(200);
  });
});

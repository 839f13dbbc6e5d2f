import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { GRAPH_PNG_KEYWORD, readPngText } from '../../protocol/index.ts';
import { applyOverrides } from '../../cli/graph-file.ts';
import { cacheBytes, keptOutputRuns } from '../../cli/serve.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );

describe('facechain CLI', () => {
  it('runs a shipped graph with --set and writes a PNG carrying its graph JSON', async () => {
    const tmp = tempDir('cli');
    const out = path.join(tmp, 'out');
    const r = await cli(['run', 'graphs/image-basics.json', '--data', path.join(tmp, 'data'), '--out', out, '--set', 'grid.cell=64', '--set', 'save.prefix=sheet']);
    expect(r.stderr).toMatch(/finished in/);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^sheet-[0-9a-f]{8}-save-000\.png$/);
    const png = readFileSync(path.join(out, files[0]!));
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 64 + 4 * 8, 2 * 64 + 3 * 8]);
    const embedded = JSON.parse(readPngText(png)[GRAPH_PNG_KEYWORD]!);
    expect(embedded.node).toBe('save');
    expect(embedded.params).toEqual({ prefix: 'sheet' });
    expect(embedded.graph.nodes.find((n: { id: string }) => n.id === 'grid').params.cell).toBe(64);
    expect(embedded.graph.name).toBe(JSON.parse(readFileSync(path.join(ROOT, 'graphs/image-basics.json'), 'utf8')).name);
  });

  it('--set parses JSON values, reaches node ids with dots, and names what it cannot find', () => {
    const doc = { nodes: [{ id: 'face.detect', params: {} }, { id: 'save', params: { prefix: 'a' } }] };
    const out = applyOverrides(doc, ['face.detect.minScore=0.5', 'save.prefix=x.y=z', 'face.detect.sizes=[1,2]']) as typeof doc;
    expect(out.nodes[0]!.params).toEqual({ minScore: 0.5, sizes: [1, 2] });
    expect(out.nodes[1]!.params).toEqual({ prefix: 'x.y=z' });
    expect(doc.nodes[1]!.params).toEqual({ prefix: 'a' });
    expect(() => applyOverrides(doc, ['ghost.width=3'])).toThrow('--set ghost.width=3: the graph has no node "ghost"');
    expect(() => applyOverrides(doc, ['save=3'])).toThrow('use node.param=value');
  });

  it('--cache-mb gives the output cache budget in MiB and refuses nonsense', () => {
    expect(cacheBytes('512')).toBe(512 * 1024 * 1024);
    expect(cacheBytes('0')).toBe(0);
    expect(cacheBytes(undefined)).toBeUndefined();
    expect(() => cacheBytes('lots')).toThrow('--cache-mb: a number of MiB, 0 or more (got "lots")');
    expect(() => cacheBytes('-1')).toThrow(/0 or more/);
  });

  it('--keep-outputs takes a whole number of runs, 0 or more', () => {
    expect(keptOutputRuns('0')).toBe(0);
    expect(keptOutputRuns('25')).toBe(25);
    expect(() => keptOutputRuns('2.5')).toThrow('--keep-outputs: a whole number of runs, 0 or more (got "2.5")');
    expect(() => keptOutputRuns('-1')).toThrow(/0 or more/);
  });

  it('validate lists every problem and exits 1', async () => {
    const tmp = tempDir('cli');
    const file = path.join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify({ format: 'facechain-graph', version: 1, nodes: [{ id: 'r', type: 'image/resize', params: { width: 0 } }] }));
    const r = await cli(['validate', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/2 problem\(s\)/);
    expect(r.stdout).toMatch(/node "r", field "params.width"/);
    expect(r.stdout).toMatch(/node "r", field "inputs.images": Required input/);
  });

  it('nodes --json prints the catalog; a bad --set names the node', async () => {
    const catalog = JSON.parse((await cli(['nodes', '--json'])).stdout);
    expect(catalog.nodes.map((n: { type: string }) => n.type)).toContain('image/save-images');
    const r = await cli(['run', 'graphs/image-basics.json', '--set', 'nosuch.width=3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no node "nosuch"/);
  });
});

// A 3x3 sweep on the built-in tiny model: only what an axis touches re-runs (cache hits), 9 labelled
// cells whose embedded graphs reproduce them bit-exactly, one more value computes only the new cells,
// and a cancel keeps the finished cells.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { builtinNodes } from '../../nodes/index.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import { decodeImage } from '../../runtime/image-io.ts';
import { GRAPH_PNG_KEYWORD, readPngText } from '../../protocol/index.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { runSweep } from '../../runtime/sweep/driver.ts';
import { SweepTableSchema } from '../../protocol/index.ts';
import type { Image } from '../../runtime/values.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';

const registry = new NodeRegistry(builtinNodes);
const doc = graph(
  [
    { id: 'checkpoint', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } },
    { id: 'sampler', type: 'sd/sampler', params: { width: 64, height: 64, steps: 3, batch: 1, seed: 5, scheduler: 'euler' } },
    { id: 'decode', type: 'sd/vae-decode' },
    { id: 'resize', type: 'image/resize', params: { width: 64, height: 64 } },
  ],
  [
    ['checkpoint', 'model', 'sampler', 'model'],
    ['checkpoint', 'model', 'decode', 'model'],
    ['sampler', 'latent', 'decode', 'latent'],
    ['decode', 'images', 'resize', 'images'],
  ],
);
const spec = (cfg: number[], name = 'grid3') => ({
  name,
  axes: [
    { node: 'sampler', param: 'cfg', values: cfg },
    { node: 'resize', param: 'width', values: { from: 32, to: 64, count: 3 }, label: 'width' },
  ],
});

const pixels = (img: Image) => Buffer.from(img.data).toString('base64');

describe('sweep driver', () => {
  const data = tempData();
  const dir = path.join(data.output, 'sweeps');

  it('re-runs only what the axes touch, saves 9 labelled cells that reproduce bit-exactly', async () => {
    const executor = new Executor({ registry, data });
    const cells: RunEvent[] = [];
    const r = await runSweep(doc, spec([1, 3, 5]), { executor, registry, data, onEvent: (e) => e.type === 'sweep.cell' && cells.push(e) });
    expect(r.status).toBe('finished');
    expect(cells).toHaveLength(9);
    // X (cfg) varies fastest: the sampler and decoder run once per cfg, the resize once per cell.
    expect(r.executed).toEqual({ checkpoint: 1, sampler: 3, decode: 3, resize: 9 });
    expect(r.cached).toEqual({ checkpoint: 8, sampler: 6, decode: 6 });

    const table = SweepTableSchema.parse(JSON.parse(readFileSync(path.join(dir, 'grid3/results.json'), 'utf8')));
    expect(table.labels).toEqual(['sampler.cfg', 'width']);
    expect(table.rows.map((row) => row.values)).toEqual([32, 48, 64].flatMap((w) => [1, 3, 5].map((c) => [c, w])));
    const csv = readFileSync(path.join(dir, 'grid3/results.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('sampler.cfg,width,seed,ms,image,error');
    expect(csv).toHaveLength(10);

    // Each cell's PNG carries its own graph: run alone on a fresh executor, it gives the same pixels.
    const fresh = new Executor({ registry, data: tempData() });
    for (const row of table.rows) {
      const bytes = readFileSync(path.join(dir, 'grid3', row.image!));
      const embedded = JSON.parse(readPngText(bytes)[GRAPH_PNG_KEYWORD]!);
      expect(embedded.graph.meta?.sweep).toBeUndefined();
      const again = await fresh.run(embedded.graph, { targets: [embedded.node] });
      const image = (again.outputs.get('resize')!.images as Image[])[0]!;
      expect(image.width).toBe(row.values[1]);
      expect(pixels(image)).toBe(pixels(await decodeImage(bytes)));
    }
    // Cells differ along both axes (the sweep set the params, not just the labels).
    const first = (i: number) => readFileSync(path.join(dir, 'grid3', table.rows[i]!.image!));
    expect(pixels(await decodeImage(first(0)))).not.toBe(pixels(await decodeImage(first(1))));

    // The grid: axis names on top, a value above each column and left of each row, dark text on white
    // (64 px cells are drawn at 128; the row labels "32" .. "64" take 35 px).
    const grid = await sharp(path.join(dir, 'grid3/grid.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const [cell, left, gap] = [128, 35, 6];
    expect(grid.info.width).toBe(left + 3 * (cell + gap) + gap);
    expect(grid.info.height).toBe(30 + 24 + 3 * (cell + gap) + gap);
    const darkIn = (x0: number, y0: number, w: number, h: number) => {
      let n = 0;
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) if (grid.data[(y * grid.info.width + x) * 3]! < 160) n++;
      return n;
    };
    expect(darkIn(0, 0, grid.info.width, 30)).toBeGreaterThan(100);
    for (let x = 0; x < 3; x++) expect(darkIn(left + x * (cell + gap), 30, cell, 24)).toBeGreaterThan(10);
    for (let y = 0; y < 3; y++) expect(darkIn(0, 54 + y * (cell + gap), left, cell)).toBeGreaterThan(10);
    expect(readPngText(readFileSync(path.join(dir, 'grid3/grid.png')))[GRAPH_PNG_KEYWORD]).toContain('"sweep"');
  });

  it('with one more value computes only the new cells', async () => {
    const executor = new Executor({ registry, data });
    const r = await runSweep(doc, spec([1, 3, 5, 7]), { executor, registry, data });
    expect(r.status).toBe('finished');
    expect([r.computed, r.reused]).toEqual([3, 9]);
    expect(r.executed).toEqual({ checkpoint: 1, sampler: 1, decode: 1, resize: 3 });
    expect(r.table!.rows).toHaveLength(12);
  });

  it('keeps the finished cells when cancelled, and a re-run completes only the rest', async () => {
    const executor = new Executor({ registry, data });
    const controller = new AbortController();
    let done = 0;
    const r = await runSweep(doc, spec([2, 4, 6], 'cancelled'), {
      executor,
      registry,
      data,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'sweep.cell') done = e.done;
        // Cancel while the third cell's sampler runs.
        if (e.type === 'node.started' && e.nodeId === 'sampler' && done === 2) controller.abort();
      },
    });
    expect(r.status).toBe('cancelled');
    const table = SweepTableSchema.parse(JSON.parse(readFileSync(path.join(dir, 'cancelled/results.json'), 'utf8')));
    expect(table.rows).toHaveLength(2);
    for (const row of table.rows) expect(existsSync(path.join(dir, 'cancelled', row.image!))).toBe(true);
    expect(existsSync(path.join(dir, 'cancelled/grid.png'))).toBe(true);

    const rest = await runSweep(doc, spec([2, 4, 6], 'cancelled'), { executor, registry, data });
    expect([rest.status, rest.computed, rest.reused]).toEqual(['finished', 7, 2]);
  });

  it('reports every problem of a sweep that cannot run, naming node and field', async () => {
    const events: RunEvent[] = [];
    const bad = { axes: [{ node: 'sampler', param: 'cfgg', values: [1] }, { node: 'nope', param: 'x', values: [1] }, { node: 'resize', param: 'width', values: [-3] }] };
    const r = await runSweep(doc, bad, { executor: new Executor({ registry, data }), registry, data, onEvent: (e) => events.push(e) });
    expect(r.status).toBe('failed');
    const failed = events.find((e) => e.type === 'run.failed');
    expect(failed?.type === 'run.failed' && failed.problems?.map((p) => p.message)).toEqual([
      'sd/sampler has no param "cfgg"',
      'No node "nope" in the graph',
    ]);
  });
});

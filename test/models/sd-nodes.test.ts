import { describe, expect, it } from 'vitest';
import { Executor } from '../../runtime/executor.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import type { Image } from '../../runtime/values.ts';
import loadCheckpoint from '../../nodes/sd/load-checkpoint.ts';
import sampler from '../../nodes/sd/sampler.ts';
import vaeDecode from '../../nodes/sd/vae-decode.ts';
import { tempDir } from '../helpers/temp.ts';

const registry = new NodeRegistry([loadCheckpoint, sampler, vaeDecode]);
const doc = (samplerParams: Record<string, unknown>) => ({
  format: 'facechain-graph',
  version: 1,
  name: 'sd',
  nodes: [
    { id: 'load', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } },
    { id: 'sample', type: 'sd/sampler', params: { width: 64, height: 64, steps: 4, batch: 2, ...samplerParams } },
    { id: 'decode', type: 'sd/vae-decode', params: {} },
  ],
  edges: [
    { from: { node: 'load', port: 'model' }, to: { node: 'sample', port: 'model' } },
    { from: { node: 'load', port: 'model' }, to: { node: 'decode', port: 'model' } },
    { from: { node: 'sample', port: 'latent' }, to: { node: 'decode', port: 'latent' } },
  ],
});

describe('SD nodes on the tiny model', () => {
  const data = openDataFolders(tempDir('sd-nodes'));

  it('load -> sampler -> VAE decode makes images, streams a preview per step and honours the seed', async () => {
    const ex = new Executor({ registry, data, progressIntervalMs: 0 });
    const previews = new Set<number>();
    const r = await ex.run(doc({ seed: 7 }), {
      onEvent: (e) => {
        if (e.type === 'node.preview' && e.nodeId === 'sample') previews.add(e.previewId);
      },
    });
    expect(r.failures).toEqual([]);
    expect(r.status).toBe('finished');
    const images = r.outputs.get('decode')!.images as Image[];
    expect(images.map((i) => [i.width, i.height, i.channels])).toEqual([[64, 64, 3], [64, 64, 3]]);
    expect(previews.size).toBe(4);
    const again = await new Executor({ registry, data }).run(doc({ seed: 7 }));
    const images2 = again.outputs.get('decode')!.images as Image[];
    expect(Buffer.from(images2[1]!.data).equals(Buffer.from(images[1]!.data))).toBe(true);
  });

  it('cancels between steps', async () => {
    const ex = new Executor({ registry, data });
    const controller = new AbortController();
    const r = await ex.run(doc({ steps: 150 }), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'node.progress' && e.nodeId === 'sample') controller.abort();
      },
    });
    expect(r.status).toBe('cancelled');
  });
});

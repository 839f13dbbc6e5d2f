import { mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../runtime/executor.ts';
import type { Image } from '../../runtime/values.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';

/** A 40x20 image: left half red, right half blue. */
async function writeTestImage(dir: string) {
  mkdirSync(dir, { recursive: true });
  const left = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#ff0000' } }).png().toBuffer();
  await sharp({ create: { width: 40, height: 20, channels: 3, background: '#0000ff' } })
    .composite([{ input: left, left: 0, top: 0 }])
    .png()
    .toFile(path.join(dir, 'halves.png'));
}

const pixel = (img: Image, x: number, y: number) => [...img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x) * img.channels + 3)];

describe('image nodes', () => {
  it('load -> crop -> rotate -> resize produce the right pixels', async () => {
    const data = tempData();
    await writeTestImage(path.join(data.input, 'set'));
    const ex = new Executor({ registry: testRegistry(), data });
    const r = await ex.run(
      graph(
        [
          { id: 'load', type: 'image/load-images', params: { path: 'set' } },
          { id: 'crop', type: 'image/crop', params: { left: 10, top: 0, width: 20, height: 10 } },
          { id: 'rot', type: 'image/rotate', params: { angle: 90 } },
          { id: 'resize', type: 'image/resize', params: { width: 5, height: 10, fit: 'fill', kernel: 'nearest' } },
        ],
        [['load', 'images', 'crop', 'images'], ['crop', 'images', 'rot', 'images'], ['rot', 'images', 'resize', 'images']],
      ),
      { targets: ['resize'] },
    );
    expect(r.status).toBe('finished');
    const crop = (r.outputs.get('crop')!.images as Image[])[0]!;
    expect([crop.width, crop.height]).toEqual([20, 10]);
    expect(pixel(crop, 0, 0)).toEqual([255, 0, 0]);
    expect(pixel(crop, 19, 0)).toEqual([0, 0, 255]);
    const rot = (r.outputs.get('rot')!.images as Image[])[0]!;
    expect([rot.width, rot.height]).toEqual([10, 20]);
    // Clockwise: the crop's left (red) half ends on top.
    expect(pixel(rot, 5, 2)).toEqual([255, 0, 0]);
    expect(pixel(rot, 5, 17)).toEqual([0, 0, 255]);
    const resized = (r.outputs.get('resize')!.images as Image[])[0]!;
    expect([resized.width, resized.height, resized.name]).toEqual([5, 10, 'halves.png']);
  });

  it('crop outside the image names the param and the image', async () => {
    const data = tempData();
    await writeTestImage(path.join(data.input, 'set'));
    const ex = new Executor({ registry: testRegistry(), data });
    const r = await ex.run(
      graph([{ id: 'load', type: 'image/load-images', params: { path: 'set' } }, { id: 'crop', type: 'image/crop', params: { left: 30, width: 20 } }], [['load', 'images', 'crop', 'images']]),
    );
    expect(r.failures[0]!.message).toMatch(/crop 20x512 at \(30, 0\) leaves image "halves.png" \(40x20\)/);
  });

  it('load reads an upload by the id the upload answered with', async () => {
    const data = tempData();
    await writeTestImage(path.join(data.input, 'uploads'));
    renameSync(path.join(data.input, 'uploads', 'halves.png'), path.join(data.input, 'uploads', '0123456789abcdef.png'));
    const ex = new Executor({ registry: testRegistry(), data });
    const r = await ex.run(graph([{ id: 'load', type: 'image/load-images', params: { path: '0123456789abcdef' } }]));
    const [img] = r.outputs.get('load')!.images as Image[];
    expect([img!.width, img!.height, img!.name]).toEqual([40, 20, '0123456789abcdef.png']);
    const other = await ex.run(graph([{ id: 'load', type: 'image/load-images', params: { path: 'fedcba9876543210' } }]));
    expect(other.failures[0]!.message).toMatch(/"fedcba9876543210" does not exist/);
  });

  it('load reports a missing path and refuses escapes', async () => {
    const ex = new Executor({ registry: testRegistry(), data: tempData() });
    const missing = await ex.run(graph([{ id: 'load', type: 'image/load-images', params: { path: 'nowhere' } }]));
    expect(missing.failures[0]).toMatchObject({ node: 'load', message: expect.stringMatching(/params.path: "nowhere" does not exist/) });
    const escape = await ex.run(graph([{ id: 'load', type: 'image/load-images', params: { path: '../../etc' } }]));
    expect(escape.failures[0]!.message).toMatch(/leaves its folder/);
  });

  it('an edited input file is not served from cache', async () => {
    const data = tempData();
    await writeTestImage(path.join(data.input, 'set'));
    const ex = new Executor({ registry: testRegistry(), data });
    const doc = graph([{ id: 'load', type: 'image/load-images', params: { path: 'set' } }]);
    expect((await ex.run(doc)).executed).toEqual(['load']);
    expect((await ex.run(doc)).cached).toEqual(['load']);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).png().toFile(path.join(data.input, 'set', 'halves.png'));
    const again = await ex.run(doc);
    expect(again.executed).toEqual(['load']);
    expect((again.outputs.get('load')!.image as Image).width).toBe(8);
  });

  it('grid lays images out in cells', async () => {
    const data = tempData();
    await writeTestImage(path.join(data.input, 'set'));
    const ex = new Executor({ registry: testRegistry(), data });
    const r = await ex.run(
      graph([{ id: 'load', type: 'image/load-images', params: { path: 'set' } }, { id: 'grid', type: 'image/grid', params: { columns: 2, cell: 32, gap: 2, background: '#000000' } }], [['load', 'images', 'grid', 'images']]),
    );
    const img = r.outputs.get('grid')!.image as Image;
    expect([img.width, img.height, img.channels]).toEqual([2 * 32 + 3 * 2, 32 + 2 * 2, 3]);
    expect(pixel(img, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(img, 4, 18)).toEqual([255, 0, 0]);
  });
});

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { FaceSet } from '../../models/preprocess/values.ts';
import { Executor } from '../../runtime/executor.ts';
import type { Image } from '../../runtime/values.ts';
import { graph, tempData, testRegistry } from '../helpers/test-nodes.ts';

const demo = (n: number) => path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', `sample${n}.jpg`);

describe('face nodes on real photos', () => {
  it('turns a sideways photo upright, keeps single-person photos and drops a group photo with its reason', async () => {
    const data = tempData();
    const dir = path.join(data.input, 'photos');
    mkdirSync(dir, { recursive: true });
    // The upright woman on the left of sample1 (nose near 457,517), alone in a 560x700 crop.
    const crop = sharp(demo(1)).extract({ left: 180, top: 170, width: 560, height: 700 });
    await crop.clone().jpeg().toFile(path.join(dir, 'a-single.jpg'));
    await sharp(await crop.clone().png().toBuffer()).rotate(90).jpeg().toFile(path.join(dir, 'b-sideways.jpg'));
    await sharp(demo(3)).resize(960).jpeg().toFile(path.join(dir, 'c-group.jpg'));

    const ex = new Executor({ registry: testRegistry(), data });
    const r = await ex.run(
      graph(
        [
          { id: 'load', type: 'image/load-images', params: { path: 'photos' } },
          { id: 'upright', type: 'face/rotate-upright' },
          { id: 'detect', type: 'face/detect' },
        ],
        [['load', 'images', 'upright', 'images'], ['upright', 'images', 'detect', 'images']],
      ),
    );
    expect(r.failures).toEqual([]);
    const upright = r.outputs.get('upright')!.images as Image[];
    expect(upright.map((i) => [i.name, i.width, i.height])).toEqual([
      ['a-single.jpg', 560, 700],
      ['b-sideways.jpg', 560, 700],
      ['c-group.jpg', 960, expect.any(Number)],
    ]);
    const faces = r.outputs.get('detect')!.faces as FaceSet;
    expect(faces.items.map((f) => f.photo)).toEqual(['a-single.jpg', 'b-sideways.jpg']);
    for (const f of faces.items) {
      // The face sits where the woman's face is in the crop, and its eye line is near level.
      expect(f.face.box.x + f.face.box.width / 2).toBeGreaterThan(180);
      expect(f.face.box.x + f.face.box.width / 2).toBeLessThan(380);
      expect(Math.abs((f.face.roll * 180) / Math.PI)).toBeLessThan(15);
    }
    expect(faces.rejected).toEqual([expect.objectContaining({ photo: 'c-group.jpg', stage: 'face/detect', reason: expect.stringMatching(/face/) })]);
  });
  it('fails with one message naming every photo and its reason when none is usable', async () => {
    const data = tempData();
    const dir = path.join(data.input, 'photos');
    mkdirSync(dir, { recursive: true });
    await sharp(demo(3)).resize(960).jpeg().toFile(path.join(dir, 'group.jpg'));
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#8a8' } }).jpeg().toFile(path.join(dir, 'wall.jpg'));
    const ex = new Executor({ registry: testRegistry(), data });
    const r = await ex.run(
      graph(
        [
          { id: 'load', type: 'image/load-images', params: { path: 'photos' } },
          { id: 'detect', type: 'face/detect' },
        ],
        [['load', 'images', 'detect', 'images']],
      ),
    );
    expect(r.failures).toHaveLength(1);
    const message = r.failures[0]!.message;
    expect(message).toMatch(/No usable photo left: all 2 were rejected/);
    expect(message).toMatch(/group\.jpg: 3 faces of similar size \(largest [\d.]+x the next, needs 4x\) \(face\/detect\)/);
    expect(message).toMatch(/wall\.jpg: no face found \(face\/detect\)/);
  });
});

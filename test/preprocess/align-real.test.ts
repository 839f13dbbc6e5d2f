// The aligner on real faces: single-person crops of every face in the demo photos.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { frontalScore } from '../../models/preprocess/quality.ts';
import type { FaceSet } from '../../models/preprocess/values.ts';
import { Executor } from '../../runtime/executor.ts';
import { DEMO_FACES, PHOTO_NUMBERS, testFaceModels } from '../fixtures/faces/photos.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';
import { writeTestPhotos } from './photos.ts';
import { preprocessRegistry } from './registry.ts';

const deg = (r: number) => (r * 180) / Math.PI;

describe('face/align on the demo faces', () => {
  it('levels the eye line within 2 degrees (four-point fit); the five-point fit tilts turned heads', async () => {
    const data = tempData();
    const photos = PHOTO_NUMBERS.flatMap((n) => DEMO_FACES[n]!.map((_, j) => ({ file: `s${n}-${j}.jpg`, sample: n, face: j })));
    await writeTestPhotos(path.join(data.input, 'faces'), photos);
    const ex = new Executor({ registry: preprocessRegistry(), data, services: { faceModels: testFaceModels() } });
    const run = async (withNose: boolean) => {
      const r = await ex.run(
        graph(
          [
            { id: 'load', type: 'image/load-images', params: { path: 'faces' } },
            { id: 'detect', type: 'face/detect' },
            { id: 'align', type: 'face/align', params: { withNose } },
          ],
          [['load', 'images', 'detect', 'images'], ['detect', 'faces', 'align', 'faces']],
        ),
      );
      expect(r.failures).toEqual([]);
      return { before: r.outputs.get('detect')!.faces as FaceSet, after: r.outputs.get('align')!.faces as FaceSet };
    };

    const four = await run(false);
    // One crop shows a face in profile; the rest are frontal to three-quarter views.
    expect(four.before.items.length).toBeGreaterThanOrEqual(photos.length - 1);
    expect(four.after.items).toHaveLength(four.before.items.length);
    const tilted = four.before.items.filter((it) => Math.abs(deg(it.face.roll)) > 10);
    expect(tilted.length).toBeGreaterThanOrEqual(8); // real work: 8+ faces lean by 10-45 degrees
    const usable = (set: FaceSet) => set.items.filter((it) => frontalScore(it.face.landmarks) >= 0.2);
    const residuals = (set: FaceSet) => new Map(set.items.map((it) => [it.photo, Math.abs(deg(it.face.roll))]));
    const after4 = residuals(four.after);
    expect(usable(four.before).length).toBeGreaterThanOrEqual(photos.length - 2);
    for (const it of usable(four.before)) {
      expect(after4.get(it.photo), it.photo).toBeLessThan(2);
      const turned = four.after.items.find((a) => a.photo === it.photo)!;
      // The turn recorded is the one applied: the face's roll before, undone.
      expect(Math.abs(turned.rotation + deg(it.face.roll))).toBeLessThan(2);
    }

    const five = await run(true);
    const after5 = residuals(five.after);
    const worst = Math.max(...usable(five.before).map((it) => after5.get(it.photo)!));
    expect(worst).toBeGreaterThan(2.5);
  });
});

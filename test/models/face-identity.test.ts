// Identity descriptors (FaceRes) on the demo photos: the same face after flipping, rotating or
// re-cropping the photo (and detecting it again) stays closer to itself than to any of the other 21 people.
import { beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity } from '../../models/face/faceres.ts';
import type { RawImage } from '../../models/face/types.ts';
import { demoPhoto, PHOTO_NUMBERS, sharpOf, testFaceModels, toRawImage } from '../fixtures/faces/photos.ts';

const models = testFaceModels();

interface Person { id: string; descriptor: Float32Array; photo: RawImage; box: { x: number; y: number; width: number; height: number } }
const people: Person[] = [];

beforeAll(async () => {
  for (const n of PHOTO_NUMBERS) {
    const photo = await demoPhoto(n);
    const faces = await models.detect(photo);
    const described = await models.describe(photo, faces);
    faces.forEach((f, i) => people.push({ id: `${n}.${i}`, descriptor: described[i]!.descriptor, photo, box: f.box }));
  }
});

/** A square region around the face, `k` face-sizes wide, shifted by (dx, dy) face-sizes, inside the photo. */
function around(p: Person, k: number, dx = 0, dy = 0) {
  const s = Math.max(p.box.width, p.box.height);
  const size = Math.round(k * s);
  const left = Math.round(Math.min(Math.max(p.box.x + p.box.width / 2 + dx * s - size / 2, 0), p.photo.width - size));
  const top = Math.round(Math.min(Math.max(p.box.y + p.box.height / 2 + dy * s - size / 2, 0), p.photo.height - size));
  return { left, top, width: size, height: size };
}

const AUGMENTATIONS: Record<string, (p: Person) => Promise<RawImage>> = {
  flipped: (p) => toRawImage(sharpOf(p.photo).extract(around(p, 2.4)).flop()),
  'rotated 12 degrees': (p) => toRawImage(sharpOf(p.photo).extract(around(p, 2.6)).rotate(12, { background: '#000' })),
  're-cropped off-centre at 0.6x': async (p) => {
    const r = around(p, 2, 0.25, -0.2);
    return toRawImage(sharpOf(p.photo).extract(r).resize(Math.round(r.width * 0.6)));
  },
};

describe('FaceRes descriptors', () => {
  it('are unit length, and 22 faces in 6 photos are 22 different people', () => {
    expect(people).toHaveLength(22);
    for (const p of people) {
      expect(p.descriptor).toHaveLength(1024);
      expect(Math.hypot(...p.descriptor)).toBeCloseTo(1, 5);
    }
  });

  for (const [name, augment] of Object.entries(AUGMENTATIONS)) {
    it(`match the same face ${name} better than any other person`, async () => {
      const margins: number[] = [];
      // Every third face (7 of 22, including the profile in sample2) keeps the test quick; all 22 are the negatives.
      for (const p of people.filter((_, i) => i % 3 === 1)) {
        const img = await augment(p);
        const faces = await models.detect(img);
        const face = faces.sort((a, b) => b.box.width - a.box.width)[0];
        expect(face, `face ${p.id} found after augmentation`).toBeDefined();
        const { descriptor } = (await models.describe(img, [face!]))[0]!;
        const same = cosineSimilarity(descriptor, p.descriptor);
        const others = Math.max(...people.filter((q) => q !== p).map((q) => cosineSimilarity(descriptor, q.descriptor)));
        // Measured: the margin is at least 0.28 for every face and augmentation.
        expect(same - others, `face ${p.id}: same ${same.toFixed(3)} vs best other ${others.toFixed(3)}`).toBeGreaterThan(0.15);
        margins.push(same - others);
      }
      console.log(`${name}: same-minus-best-other similarity, min ${Math.min(...margins).toFixed(3)}, mean ${(margins.reduce((a, b) => a + b, 0) / margins.length).toFixed(3)}`);
    });
  }
});

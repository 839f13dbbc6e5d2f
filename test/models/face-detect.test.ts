// Detection + landmarks on the real demo photos.
import { describe, expect, it } from 'vitest';
import { boxContains } from '../../models/face/geometry.ts';
import type { DetectedFace, Point } from '../../models/face/types.ts';
import { DEMO_FACES, demoPhoto, PHOTO_NUMBERS, sharpOf, testFaceModels, toRawImage } from '../fixtures/faces/photos.ts';

const models = testFaceModels();
const degrees = (r: number) => (r * 180) / Math.PI;
const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

/** Landmarks in the face's own upright frame (eye line horizontal), relative to the nose. */
function upright(face: DetectedFace): Point[] {
  const c = Math.cos(-face.roll);
  const s = Math.sin(-face.roll);
  const o = face.landmarks[2];
  return face.landmarks.map((p) => ({ x: (p.x - o.x) * c - (p.y - o.y) * s, y: (p.x - o.x) * s + (p.y - o.y) * c }));
}

describe('detectFaces on the demo photos', () => {
  for (const n of PHOTO_NUMBERS) {
    it(`sample${n}.jpg: finds the ${DEMO_FACES[n]!.length} faces, with consistent landmarks`, async () => {
      const img = await demoPhoto(n);
      const faces = await models.detect(img);
      const expected = DEMO_FACES[n]!;
      expect(faces).toHaveLength(expected.length);
      for (const want of expected) {
        const matches = faces.filter((f) => dist(f.landmarks[2], want.nose) < 25);
        expect(matches, `face with nose near ${want.nose.x},${want.nose.y}`).toHaveLength(1);
        const face = matches[0]!;
        expect(face.faceness).toBeGreaterThan(0.9);
        expect(face.mesh).toHaveLength(468);
        // Face sizes in these photos: 170-230 px boxes.
        expect(face.box.width).toBeGreaterThan(150);
        expect(face.box.width).toBeLessThan(260);
        for (const p of face.landmarks) expect(boxContains(face.box, p)).toBe(true);
        // Upright frame: eyes left-to-right and above the nose, mouth corners below it and apart.
        const [le, re, , lm, rm] = upright(face);
        expect(le!.x).toBeLessThan(re!.x);
        expect(lm!.x).toBeLessThan(rm!.x);
        expect(Math.max(le!.y, re!.y)).toBeLessThan(0);
        expect(Math.min(lm!.y, rm!.y)).toBeGreaterThan(0);
        const eyes = dist(face.landmarks[0], face.landmarks[1]);
        expect(eyes / face.box.width).toBeGreaterThan(0.2);
        expect(eyes / face.box.width).toBeLessThan(0.6);
        if (want.upright) expect(Math.abs(degrees(face.roll))).toBeLessThan(10);
      }
    });
  }

  it('follows a rotation of the photo: roll changes by the same angle', async () => {
    const img = await demoPhoto(5);
    // The upright woman in the middle of sample5 (nose near 742,567), in a 600 px square.
    const crop = sharpOf(img).extract({ left: 442, top: 267, width: 600, height: 600 });
    const base = await models.detect(await toRawImage(crop.clone()));
    expect(base).toHaveLength(1);
    for (const angle of [-25, 25]) {
      const turned = await toRawImage(crop.clone().rotate(angle, { background: '#000' }));
      const faces = await models.detect(turned);
      expect(faces).toHaveLength(1);
      // sharp turns clockwise for positive angles, which is positive roll with y pointing down.
      expect(degrees(faces[0]!.roll - base[0]!.roll)).toBeCloseTo(angle, -0.5); // within ±1.6 degrees
    }
  });

  it('takes RGBA input and finds small faces with tiling', async () => {
    const img = await demoPhoto(3);
    const rgba = await toRawImage(sharpOf(img).ensureAlpha());
    expect(rgba.channels).toBe(4);
    expect(await models.detect(rgba)).toHaveLength(3);
    // The photo in a canvas 3x its size: faces shrink to ~9 px in the detector's whole-image view.
    const big = await toRawImage(sharpOf(img).extend({ right: img.width * 2, bottom: img.height * 2, background: '#808080' }));
    const whole = await models.detect(big);
    const tiled = await models.detect(big, { tiles: 2 });
    expect(tiled).toHaveLength(3);
    expect(whole.length).toBeLessThan(3);
  });
});

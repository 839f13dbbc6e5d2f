import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { applyAffine } from '../../models/face/geometry.ts';
import { cropMap, cropSquare, faceCropSquare, FACECHAIN_FACE_CENTRE_Y, FACECHAIN_FACE_RATIO } from '../../models/preprocess/crop.ts';
import { toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';

/** Extent of the pure-red pixels, in pixels. */
function redExtent(img: Image) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * img.channels;
      if (img.data[o]! > 200 && img.data[o + 1]! < 60 && img.data[o + 2]! < 60) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1);
      }
    }
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** A grey photo with a red "face" box near its left edge. */
const photo = (box: { x: number; y: number; width: number; height: number }) =>
  toImage(
    sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } }).composite([
      { input: { create: { width: box.width, height: box.height, channels: 3, background: '#ff0000' } }, left: box.x, top: box.y },
    ]),
  );

describe('FaceChain crop', () => {
  it('defaults to the code values 0.35/1.15 and 0.5/1.15', () => {
    expect(FACECHAIN_FACE_RATIO).toBeCloseTo(0.3043, 4);
    expect(FACECHAIN_FACE_CENTRE_Y).toBeCloseTo(0.4348, 4);
  });

  it('sizes the square from the larger face side and centres the face', () => {
    const box = { x: 100, y: 50, width: 90, height: 120 };
    const sq = faceCropSquare(box, 0.4, 0.5);
    expect(sq.size).toBe(300);
    expect(sq.left + sq.size / 2).toBe(145);
    expect(sq.top + sq.size / 2).toBe(110);
    const m = cropMap(sq, 512);
    expect(applyAffine(m, { x: 145, y: 110 })).toEqual({ x: 256, y: 256 });
    expect(() => faceCropSquare(box, 0)).toThrow(/ratio/);
  });

  for (const ratio of [FACECHAIN_FACE_RATIO, 0.35, 0.45]) {
    it(`puts the face at ratio ${ratio.toFixed(3)} of a 512 crop, centred, white outside the photo`, async () => {
      const box = { x: 20, y: 150, width: 72, height: 96 };
      const img = await photo(box);
      const out = await cropSquare(img, faceCropSquare(box, ratio), 512);
      expect([out.width, out.height, out.channels]).toEqual([512, 512, 3]);
      const red = redExtent(out);
      expect(Math.abs(Math.max(red.width, red.height) / 512 - ratio)).toBeLessThan(0.02);
      expect(Math.abs((red.x + red.width / 2) / 512 - 0.5)).toBeLessThan(0.01);
      expect(Math.abs((red.y + red.height / 2) / 512 - FACECHAIN_FACE_CENTRE_Y)).toBeLessThan(0.01);
      // The crop reaches past the photo's left edge: that part is white, the photo grey.
      expect([...out.data.subarray(256 * 512 * 3, 256 * 512 * 3 + 3)]).toEqual([255, 255, 255]);
      const o = (256 * 512 + 500) * 3;
      expect([...out.data.subarray(o, o + 3)]).toEqual([128, 128, 128]);
    });
  }

  it('refuses a crop entirely outside the photo', async () => {
    const img = await photo({ x: 0, y: 0, width: 10, height: 10 });
    await expect(cropSquare(img, { left: 700, top: 0, size: 50 }, 64)).rejects.toThrow(/outside/);
  });
});

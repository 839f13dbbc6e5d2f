import { describe, expect, it } from 'vitest';
import { skinMask } from '../../models/preprocess/face-regions.ts';
import { compositeOnWhite, headMask } from '../../models/preprocess/head-mask.ts';
import { boxMean, guidedFilter, retouchSkin } from '../../models/preprocess/retouch.ts';
import { toImage } from '../../runtime/image-io.ts';
import { Rng } from '../../runtime/rng.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import { testFaceModels } from '../fixtures/faces/photos.ts';
import { singleFace } from './photos.ts';

const variance = (xs: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i]!;
  m /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i]! - m) ** 2;
  return v / xs.length;
};

describe('guided-filter retouch', () => {
  it('box mean matches a direct sum, borders clipped', () => {
    const rng = new Rng(3);
    const w = 9;
    const h = 7;
    const src = Float32Array.from({ length: w * h }, () => rng.uniform());
    const out = boxMean(src, w, h, 2);
    for (const [x, y] of [[0, 0], [4, 3], [8, 6], [1, 5]]) {
      let s = 0;
      let n = 0;
      for (let j = Math.max(0, y! - 2); j <= Math.min(h - 1, y! + 2); j++) for (let i = Math.max(0, x! - 2); i <= Math.min(w - 1, x! + 2); i++) (s += src[j * w + i]!), n++;
      expect(out[y! * w + x!]).toBeCloseTo(s / n, 5);
    }
  });

  it('smooths fine noise and keeps a strong edge', () => {
    const rng = new Rng(5);
    const w = 64;
    const h = 32;
    // Left half 0.3, right half 0.8, plus noise of 0.02.
    const src = Float32Array.from({ length: w * h }, (_, i) => ((i % w) < w / 2 ? 0.3 : 0.8) + 0.02 * rng.normal());
    const out = guidedFilter(src, w, h, 4, 0.02 ** 2);
    const patch = (a: Float32Array) => Array.from({ length: 10 * 10 }, (_, k) => a[(10 + Math.floor(k / 10)) * w + 5 + (k % 10)]!);
    expect(variance(patch(out))).toBeLessThan(variance(patch(src)) / 3);
    const edge = (a: Float32Array, y: number) => a[y * w + w / 2 + 1]! - a[y * w + w / 2 - 2]!;
    expect(edge(out, 16)).toBeGreaterThan(0.45);
  });

  it('changes only the masked pixels, by the strength', async () => {
    const rng = new Rng(9);
    const img: Image = { width: 32, height: 32, channels: 3, data: Uint8Array.from({ length: 32 * 32 * 3 }, () => 100 + rng.int(40)) };
    const half: Mask = { width: 32, height: 32, channels: 1, data: Uint8Array.from({ length: 32 * 32 }, (_, i) => (i % 32 < 16 ? 255 : 0)) };
    const opts = { strength: 1, radius: 3, eps: 0.05 ** 2 };
    const out = retouchSkin(img, half, opts);
    const column = (im: Image, x0: number) => Array.from({ length: 32 * 16 * 3 }, (_, k) => im.data[(Math.floor(k / 48) * 32 + x0 + Math.floor((k % 48) / 3)) * 3 + (k % 3)]!);
    expect(column(out, 16)).toEqual(column(img, 16));
    expect(variance(column(out, 0))).toBeLessThan(variance(column(img, 0)) / 2);
    expect(retouchSkin(img, half, { ...opts, strength: 0 }).data).toEqual(img.data);
    expect(() => retouchSkin(img, { ...half, width: 16 }, opts)).toThrow(/differ in size/);
  });
});

describe('face regions on a real face', () => {
  it('skin mask leaves eyes, brows and lips out; head mask keeps face and hair, not the body', async () => {
    const img = await toImage(await singleFace(5, 4));
    const [face] = await testFaceModels().detect(img);
    const at = (m: Mask, p: { x: number; y: number }) => m.data[Math.round(p.y) * m.width + Math.round(p.x)];
    const skin = await skinMask(face!.mesh, img.width, img.height, 2);
    const [le, re, , lm, rm] = face!.landmarks;
    expect(at(skin, le)).toBeLessThan(30);
    expect(at(skin, re)).toBeLessThan(30);
    expect(at(skin, { x: (lm.x + rm.x) / 2, y: (lm.y + rm.y) / 2 })).toBeLessThan(30);
    expect(at(skin, face!.mesh[205]!)).toBeGreaterThan(225); // cheeks
    expect(at(skin, face!.mesh[425]!)).toBeGreaterThan(225);
    expect(at(skin, { x: 2, y: 2 })).toBe(0);

    const everyone: Mask = { width: img.width, height: img.height, channels: 1, data: new Uint8Array(img.width * img.height).fill(255) };
    const head = await headMask(everyone, face!.mesh);
    const { x, y, width, height } = face!.box;
    expect(at(head, { x: x + width / 2, y: y - 0.25 * height })).toBe(255); // hair above the forehead
    expect(at(head, { x: x + width / 2, y: y + 1.3 * height })).toBe(0); // neck and body
    expect(at(head, { x: 1, y: 1 })).toBe(0);
    const noPerson: Mask = { ...everyone, data: new Uint8Array(img.width * img.height) };
    const faceOnly = await headMask(noPerson, face!.mesh);
    expect(at(faceOnly, { x: x + width / 2, y: y - 0.25 * height })).toBe(0);
    expect(at(faceOnly, face!.landmarks[2])).toBe(255);
    const onWhite = compositeOnWhite(img, faceOnly);
    expect([...onWhite.data.subarray(0, 3)]).toEqual([255, 255, 255]);
  });
});

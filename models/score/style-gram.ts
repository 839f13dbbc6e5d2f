// Style statistics in Gatys et al.'s sense (second moments of feature maps, which keep what a picture is
// made of and drop where things are), over a fixed bank instead of VGG features: colour (R, G, B), local
// contrast (|dx|, |dy| of luminance) and a constant channel (so first moments are in too), at three
// scales (128, 64, 32 px). The distance of two pictures is the mean over scales of the relative Frobenius
// distance of their Gram matrices. 6x6 per scale over at most 16k pixels: a few ms in JavaScript.
import { fromImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';

export const GRAM_SCALES = [128, 64, 32] as const;
const C = 6;

/** Gram matrix (C x C, row-major) of the feature bank at one size. */
function gram(rgb: Uint8Array, side: number): Float64Array {
  const g = new Float64Array(C * C);
  const f = new Float64Array(C);
  const lum = (i: number) => (0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!) / 255;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = y * side + x;
      const l = lum(i);
      f[0] = rgb[i * 3]! / 255;
      f[1] = rgb[i * 3 + 1]! / 255;
      f[2] = rgb[i * 3 + 2]! / 255;
      f[3] = x + 1 < side ? Math.abs(lum(i + 1) - l) : 0;
      f[4] = y + 1 < side ? Math.abs(lum(i + side) - l) : 0;
      f[5] = 1;
      for (let a = 0; a < C; a++) for (let b = a; b < C; b++) g[a * C + b]! += f[a]! * f[b]!;
    }
  }
  const n = side * side;
  for (let a = 0; a < C; a++) for (let b = a; b < C; b++) g[b * C + a] = g[a * C + b]! /= n;
  return g;
}

/** Gram matrices of the image at each scale (cover-resized to squares, alpha flattened on white). */
export async function styleGrams(image: Image): Promise<Float64Array[]> {
  const grams: Float64Array[] = [];
  for (const side of GRAM_SCALES) {
    let p = fromImage(image);
    if (image.channels !== 3) p = p.flatten({ background: '#ffffff' }).toColourspace('srgb');
    grams.push(gram(await p.resize(side, side, { fit: 'cover' }).removeAlpha().raw().toBuffer(), side));
  }
  return grams;
}

/** Element-wise mean of several images' Gram matrices (a reference set). */
export function meanGrams(sets: Float64Array[][]): Float64Array[] {
  return GRAM_SCALES.map((_, s) => {
    const m = new Float64Array(C * C);
    for (const set of sets) for (let i = 0; i < m.length; i++) m[i]! += set[s]![i]! / sets.length;
    return m;
  });
}

const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

/** Mean over scales of |G - R|_F / |R|_F: 0 for equal statistics. */
export function gramDistance(grams: Float64Array[], reference: Float64Array[]): number {
  let d = 0;
  for (const [s, r] of reference.entries()) d += norm(grams[s]!.map((v, i) => v - r[i]!)) / norm(r);
  return d / reference.length;
}

// Samples an image through an affine map into a float NHWC tensor, normalised for a model.
// Bilinear, with a box prefilter when shrinking (k x k samples per output pixel) so faces
// several times larger than the crop do not alias. Outside the image reads as black.
import { invertAffine, type Affine } from './geometry.ts';
import type { RawImage } from './types.ts';

export interface WarpOptions {
  /** value = pixel * scale + offset (pixel 0..255). */
  scale: number;
  offset: number;
  /** One output channel from ITU-R 601 luma instead of RGB. */
  grey?: boolean;
}

const LUMA = [0.2989, 0.587, 0.114];

/**
 * Output pixel (u, v) takes the image at imageToOut⁻¹(u + 0.5, v + 0.5); returns
 * [outH, outW, 3 or 1] values as a Float32Array.
 */
export function warpAffine(img: RawImage, imageToOut: Affine, outW: number, outH: number, opts: WarpOptions): Float32Array {
  const { width, height, channels, data } = img;
  const [a, b, c, d, e, f] = invertAffine(imageToOut);
  // How many image pixels one output pixel spans, per axis.
  const k = Math.max(1, Math.ceil(Math.max(Math.hypot(a, d), Math.hypot(b, e))));
  const outC = opts.grey ? 1 : 3;
  const out = new Float32Array(outW * outH * outC);
  const stride = width * channels;
  // Grey images read their one channel three times.
  const c1 = channels === 1 ? 0 : 1;
  const c2 = channels === 1 ? 0 : 2;
  const at = (x: number, y: number, ch: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : data[y * stride + x * channels + ch]);
  const norm = opts.scale / (k * k);
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let sy = 0; sy < k; sy++) {
        const ov = v + (sy + 0.5) / k;
        for (let sx = 0; sx < k; sx++) {
          const ou = u + (sx + 0.5) / k;
          // Image position in pixel-index space (pixel centres at integers).
          const x = a * ou + b * ov + c - 0.5;
          const y = d * ou + e * ov + f - 0.5;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const fx = x - x0;
          const fy = y - y0;
          const w00 = (1 - fx) * (1 - fy);
          const w10 = fx * (1 - fy);
          const w01 = (1 - fx) * fy;
          const w11 = fx * fy;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
            const p = y0 * stride + x0 * channels;
            const q = p + stride;
            r += w00 * data[p]! + w10 * data[p + channels]! + w01 * data[q]! + w11 * data[q + channels]!;
            g += w00 * data[p + c1]! + w10 * data[p + channels + c1]! + w01 * data[q + c1]! + w11 * data[q + channels + c1]!;
            bl += w00 * data[p + c2]! + w10 * data[p + channels + c2]! + w01 * data[q + c2]! + w11 * data[q + channels + c2]!;
          } else {
            r += w00 * at(x0, y0, 0)! + w10 * at(x0 + 1, y0, 0)! + w01 * at(x0, y0 + 1, 0)! + w11 * at(x0 + 1, y0 + 1, 0)!;
            g += w00 * at(x0, y0, c1)! + w10 * at(x0 + 1, y0, c1)! + w01 * at(x0, y0 + 1, c1)! + w11 * at(x0 + 1, y0 + 1, c1)!;
            bl += w00 * at(x0, y0, c2)! + w10 * at(x0 + 1, y0, c2)! + w01 * at(x0, y0 + 1, c2)! + w11 * at(x0 + 1, y0 + 1, c2)!;
          }
        }
      }
      const o = (v * outW + u) * outC;
      if (opts.grey) {
        out[o] = (LUMA[0]! * r + LUMA[1]! * g + LUMA[2]! * bl) * norm + opts.offset;
      } else {
        out[o] = r * norm + opts.offset;
        out[o + 1] = g * norm + opts.offset;
        out[o + 2] = bl * norm + opts.offset;
      }
    }
  }
  return out;
}

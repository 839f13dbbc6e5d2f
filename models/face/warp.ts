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

/** Reads channel values with zero outside the image; grey images repeat their one channel. */
function sampler(img: RawImage) {
  const { width, height, channels, data } = img;
  return (x: number, y: number, c: number): number => {
    if (x < 0 || y < 0 || x >= width || y >= height) return 0;
    return data[(y * width + x) * channels + (channels === 1 ? 0 : c)];
  };
}

/**
 * Output pixel (u, v) takes the image at imageToOut⁻¹(u + 0.5, v + 0.5); returns
 * [outH, outW, 3 or 1] values as a Float32Array.
 */
export function warpAffine(img: RawImage, imageToOut: Affine, outW: number, outH: number, opts: WarpOptions): Float32Array {
  const inv = invertAffine(imageToOut);
  const at = sampler(img);
  const [a, b, c, d, e, f] = inv;
  // How many image pixels one output pixel spans, per axis.
  const k = Math.max(1, Math.ceil(Math.max(Math.hypot(a, d), Math.hypot(b, e))));
  const outC = opts.grey ? 1 : 3;
  const out = new Float32Array(outW * outH * outC);
  const rgb = [0, 0, 0];
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      rgb[0] = rgb[1] = rgb[2] = 0;
      for (let sy = 0; sy < k; sy++) {
        for (let sx = 0; sx < k; sx++) {
          const ou = u + (sx + 0.5) / k;
          const ov = v + (sy + 0.5) / k;
          // Image position in pixel-index space (pixel centres at integers).
          const x = a * ou + b * ov + c - 0.5;
          const y = d * ou + e * ov + f - 0.5;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const fx = x - x0;
          const fy = y - y0;
          for (let ch = 0; ch < 3; ch++) {
            const top = at(x0, y0, ch) * (1 - fx) + at(x0 + 1, y0, ch) * fx;
            const bottom = at(x0, y0 + 1, ch) * (1 - fx) + at(x0 + 1, y0 + 1, ch) * fx;
            rgb[ch] += top * (1 - fy) + bottom * fy;
          }
        }
      }
      const n = k * k;
      const o = (v * outW + u) * outC;
      if (opts.grey) {
        out[o] = ((LUMA[0] * rgb[0] + LUMA[1] * rgb[1] + LUMA[2] * rgb[2]) / n) * opts.scale + opts.offset;
      } else {
        for (let ch = 0; ch < 3; ch++) out[o + ch] = (rgb[ch] / n) * opts.scale + opts.offset;
      }
    }
  }
  return out;
}

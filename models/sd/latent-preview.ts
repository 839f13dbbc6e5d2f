import type { Image } from '../../runtime/values.ts';

/**
 * SD1.x latent -> RGB linear approximation (A1111's "Approx cheap" factors, rows = latent channels,
 * columns = R, G, B), on model-space latents: a preview at latent resolution for the cost of 12
 * multiply-adds per pixel, instead of a VAE decode.
 */
const FACTORS = [
  [0.298, 0.207, 0.208],
  [0.187, 0.286, 0.173],
  [-0.158, 0.189, 0.264],
  [-0.184, -0.271, -0.473],
];

/** Previews image `index` of a latent batch [B, 4, h, w]. */
export function latentPreview(latent: Float32Array, index: number, width: number, height: number): Image {
  const plane = width * height;
  const base = index * 4 * plane;
  const data = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let l = 0; l < 4; l++) v += latent[base + l * plane + p]! * FACTORS[l]![c]!;
      data[p * 3 + c] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
  }
  return { width, height, channels: 3, data };
}

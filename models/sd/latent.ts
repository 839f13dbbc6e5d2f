import type { InpaintOverlay } from './inpaint.ts';

/** Latent images as they flow between SD nodes (the LATENT port): model-space (scaled) latents. */
export interface Latent {
  /** [batch, 4, height, width] row-major. */
  data: Float32Array;
  batch: number;
  channels: number;
  /** Latent size: image size / 8. */
  height: number;
  width: number;
  /** Inpainting: the start image decoding pastes back outside the mask, so those pixels stay exact. */
  overlay?: InpaintOverlay;
}

export function isLatent(v: unknown): v is Latent {
  const l = v as Latent;
  return typeof v === 'object' && v !== null && l.data instanceof Float32Array
    && l.data.length === l.batch * l.channels * l.height * l.width;
}

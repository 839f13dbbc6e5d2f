// Whole-image model inputs: the image scaled (keeping its aspect) into a square, top-left aligned,
// padded with black. sharp does the scaling: its filtered downscale keeps small faces legible.
import sharp from 'sharp';
import type { RawImage } from './types.ts';

export interface Letterboxed {
  /** [size, size, 3] RGB bytes. */
  pixels: Uint8Array;
  /** Model-input pixels per image pixel, per axis (they differ slightly after rounding). */
  scaleX: number;
  scaleY: number;
}

export async function letterbox(img: RawImage, size: number): Promise<Letterboxed> {
  const scale = size / Math.max(img.width, img.height);
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const { data } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(size * size * 3);
  for (let y = 0; y < h; y++) pixels.set(data.subarray(y * w * 3, (y + 1) * w * 3), y * size * 3);
  return { pixels, scaleX: w / img.width, scaleY: h / img.height };
}

/** Bytes -> floats with value = byte * scale + offset. */
export function normalise(bytes: Uint8Array, scale: number, offset: number): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] * scale + offset;
  return out;
}

// Detector inputs: the image (or a tile of it) scaled, keeping its aspect, into a square, top-left
// aligned, padded with black. sharp does the scaling: its filtered downscale keeps small faces legible.
import sharp from 'sharp';
import type { RawImage } from './types.ts';

export interface Letterboxed {
  /** [size, size, 3] RGB bytes. */
  pixels: Uint8Array;
  /** Model-input pixels per image pixel, per axis (they differ slightly after rounding). */
  scaleX: number;
  scaleY: number;
}

/** A rectangle of the image in whole pixels. */
export interface Region { left: number; top: number; width: number; height: number }

/** `region` (default: the whole image) scaled into a `size` square. */
export async function letterbox(img: RawImage, size: number, region?: Region): Promise<Letterboxed> {
  const r = region ?? { left: 0, top: 0, width: img.width, height: img.height };
  const scale = size / Math.max(r.width, r.height);
  const w = Math.max(1, Math.round(r.width * scale));
  const h = Math.max(1, Math.round(r.height * scale));
  const { data } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .extract(r)
    .removeAlpha()
    .toColourspace('srgb')
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(size * size * 3);
  for (let y = 0; y < h; y++) pixels.set(data.subarray(y * w * 3, (y + 1) * w * 3), y * size * 3);
  return { pixels, scaleX: w / r.width, scaleY: h / r.height };
}

/** Bytes -> floats with value = byte * scale + offset. */
export function normalise(bytes: Uint8Array, scale: number, offset: number): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! * scale + offset;
  return out;
}

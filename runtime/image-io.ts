import sharp, { type Sharp } from 'sharp';
import type { Image } from './values.ts';

/** Decodes any image sharp reads into raw pixels (RGB, or RGBA when the file has alpha). */
export async function decodeImage(input: string | Uint8Array, opts: { autoOrient?: boolean; name?: string } = {}): Promise<Image> {
  let pipeline = sharp(input, { failOn: 'error', limitInputPixels: 100_000_000 });
  if (opts.autoOrient ?? true) pipeline = pipeline.autoOrient();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const channels = info.channels === 4 ? 4 : info.channels === 3 ? 3 : undefined;
  if (!channels) {
    // Grey or grey+alpha files: widen to RGB(A) so every IMAGE has 3 or 4 channels.
    const rgb = await sharp(data, { raw: info }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { width: rgb.info.width, height: rgb.info.height, channels: rgb.info.channels as 3 | 4, data: rgb.data, name: opts.name };
  }
  return { width: info.width, height: info.height, channels, data, name: opts.name };
}

/** A sharp pipeline over an Image's raw pixels. */
export function fromImage(image: Image): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
}

/** Runs a sharp pipeline back into an Image (keeps the name). */
export async function toImage(pipeline: Sharp, name?: string): Promise<Image> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels as 1 | 3 | 4, data, name };
}

export async function encodePng(image: Image): Promise<Buffer> {
  return fromImage(image).png().toBuffer();
}

/** Small JPEG for streaming previews: longest side at most `maxSide`. */
export async function encodePreview(image: Image, maxSide = 512): Promise<{ data: Buffer; width: number; height: number }> {
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  let p = fromImage(image);
  if (scale < 1) p = p.resize(width, height, { fit: 'fill' });
  if (image.channels === 4) p = p.flatten({ background: '#ffffff' });
  return { data: await p.jpeg({ quality: 80 }).toBuffer(), width, height };
}

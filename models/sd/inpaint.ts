// Inpainting pieces the sampler and the VAE decode share: the mask at latent size, what the masked
// region starts from, the masked image an inpainting UNet sees, and the pixel overlay after decoding.
import { z } from 'zod';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import type { SdConfig, UnetConfig } from './config.ts';

/**
 * What the masked region starts from (A1111's "masked content"): the image as it is, fresh latent
 * noise, or the mean colour of the unmasked pixels.
 */
export const MaskedContentSchema = z.enum(['original', 'noise', 'fill']);
export type MaskedContent = z.infer<typeof MaskedContentSchema>;

/** An inpainting UNet (sd-v1-5-inpainting) takes the latent, the mask and the masked image's latent: 4 + 1 + 4 channels. */
export function isInpaintingUnet(unet: UnetConfig): boolean {
  return unet.inChannels === 2 * unet.outChannels + 1;
}

/** The mask at latent size (each latent pixel the mean of its factor x factor block), 0..1. */
export function latentMask(mask: Mask, factor: number): Float32Array {
  const h = mask.height / factor;
  const w = mask.width / factor;
  const out = new Float32Array(h * w);
  for (let y = 0; y < mask.height; y++) {
    const row = Math.floor(y / factor) * w;
    for (let x = 0; x < mask.width; x++) out[row + Math.floor(x / factor)]! += mask.data[y * mask.width + x]!;
  }
  const scale = 1 / (255 * factor * factor);
  for (let k = 0; k < out.length; k++) out[k]! *= scale;
  return out;
}

/** `image` with its masked pixels (mask >= 128) set to `rgb`. */
function paintMasked(image: Image, mask: Mask, rgb: readonly number[]): Image {
  const data = new Uint8Array(image.data);
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]! >= 128) for (let c = 0; c < 3; c++) data[i * 3 + c] = rgb[c]!;
  }
  return { ...image, data };
}

/** The masked region painted with the mean colour of the rest ("fill"); all grey when nothing is left. */
export function fillMasked(image: Image, mask: Mask): Image {
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]! >= 128) continue;
    n++;
    for (let c = 0; c < 3; c++) sum[c]! += image.data[i * 3 + c]!;
  }
  return paintMasked(image, mask, n ? sum.map((s) => Math.round(s / n)) : [128, 128, 128]);
}

/** What an inpainting UNet's third input encodes: the image with the masked region at 0 in [-1, 1] (grey). */
export function maskedImage(image: Image, mask: Mask): Image {
  return paintMasked(image, mask, [128, 128, 128]);
}

/** A hard mask softened by a Gaussian blur of `sigma` px (0 keeps it as it is). */
export async function blurMask(mask: Mask, sigma: number): Promise<Mask> {
  if (sigma < 0.3) return mask;
  const out = await toImage(fromImage(mask).blur(sigma).extractChannel(0), mask.name);
  return { ...out, channels: 1 };
}

/** A mask resized to width x height (cover, as the sampler's start image is). */
export async function maskAt(mask: Mask, width: number, height: number): Promise<Mask> {
  if (mask.width === width && mask.height === height && mask.channels === 1) return mask;
  const out = await toImage(fromImage(mask).resize(width, height, { fit: 'cover' }).extractChannel(0), mask.name);
  return { ...out, channels: 1 };
}

/** What decoding pastes back: the start image outside the mask (A1111's overlay), so those pixels stay exact. */
export interface InpaintOverlay {
  image: Image;
  mask: Mask;
}

/** `decoded` inside the mask, `overlay.image` outside, blended by the mask's value. */
export function applyOverlay(decoded: Image, overlay: InpaintOverlay): Image {
  const { image, mask } = overlay;
  if (image.width !== decoded.width || image.height !== decoded.height) {
    throw new Error(`inpaint overlay is ${image.width}x${image.height}, the decoded image ${decoded.width}x${decoded.height}`);
  }
  const out = new Uint8Array(decoded.data.length);
  for (let i = 0; i < mask.data.length; i++) {
    const m = mask.data[i]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(image.data[i * 3 + c]! + m * (decoded.data[i * 3 + c]! - image.data[i * 3 + c]!));
  }
  return { ...decoded, data: out };
}

/** `config` with a UNet of `channels` inputs: 4 (normal) or 9 (inpainting); LoRAs of the base still fit, so the name stays. */
export function withInputChannels(config: SdConfig, channels: number, label: string): SdConfig {
  const latent = config.unet.outChannels;
  if (channels === latent) return config;
  if (channels !== 2 * latent + 1) {
    throw new Error(`Checkpoint "${label}": a UNet with ${channels} input channels is neither a normal (${latent}) nor an inpainting (${2 * latent + 1}) one`);
  }
  return { ...config, unet: { ...config.unet, inChannels: channels } };
}

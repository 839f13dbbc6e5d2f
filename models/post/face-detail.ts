// The face-detail pass (ADetailer/FaceDetailer's idea): a face is cut out as a square with context,
// scaled to the working size, re-sampled at low denoise under a mask of its face oval (dilated,
// feathered), colour-matched to the original and pasted back through the same mask drawn at the
// crop's own size, so no pixel outside the dilated oval changes.
import { z } from 'zod';
import type { DetectedFace, Point } from '../face/types.ts';
import { contour, FACE_OVAL, renderMask, svgPath } from '../preprocess/face-regions.ts';
import { sample, SampleParamsSchema, type SampleParams } from '../sd/sample.ts';
import { latentFactor } from '../sd/config.ts';
import type { Latent } from '../sd/latent.ts';
import type { LoraSchedule } from '../sd/lora-schedule.ts';
import { decodeLatents } from '../sd/vae-codec.ts';
import type { SdModel } from '../sd/sd-model.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import { at } from '../../protocol/index.ts';
import { channelStats, colourTransfer } from './colour-match.ts';

export const FaceDetailOptionsSchema = SampleParamsSchema.pick({ prompt: true, negativePrompt: true, steps: true, cfg: true, seed: true, scheduler: true }).extend({
  /** Share of the schedule that runs on the face (img2img strength). */
  denoise: z.number().gt(0).max(1).default(0.4),
  /** Side the crop is sampled at. */
  size: z.int().min(64).max(2048).multipleOf(64).default(512),
  /** Context around the face box on each side, as a fraction of the face's longer side. */
  padding: z.number().min(0).max(3).default(0.5),
  /** Growth of the face oval, as a fraction of the face's longer side. */
  dilation: z.number().min(0).max(0.5).default(0.08),
  /** Softness of the mask edge (Gaussian sigma), as a fraction of the face's longer side, inside the dilated oval. */
  feather: z.number().min(0).max(0.25).default(0.04),
  matchColour: z.boolean().default(true),
});
export type FaceDetailOptions = z.input<typeof FaceDetailOptionsSchema>;

/** Where a face's crop sits in the image: a square of `side` px at (x, y). */
export interface CropBox {
  x: number;
  y: number;
  side: number;
}

export interface FaceDetailResult {
  /** The whole image with the face pasted back. */
  image: Image;
  crop: CropBox;
  /** The paste mask over the crop (side x side): 0 = the image's pixel kept exactly. */
  mask: Mask;
  /** The crop before and after, at the working size, for previews. */
  before: Image;
  after: Image;
}

export interface FaceDetailHooks {
  signal?: AbortSignal;
  loras?: LoraSchedule;
  onStep?(index: number, total: number): void;
}

// sharp's Gaussian blur reaches 2 sigma: the soft edge is drawn that far inside the dilated oval.
const BLUR_REACH = 2;

/** The square crop around a face: its longer side plus `padding` on each side, moved (and shrunk) to lie inside the image. */
export function cropBox(face: DetectedFace, width: number, height: number, padding: number): CropBox {
  const faceSide = Math.max(face.box.width, face.box.height);
  const side = Math.max(8, Math.min(Math.round(faceSide * (1 + 2 * padding)), width, height));
  const cx = face.box.x + face.box.width / 2;
  const cy = face.box.y + face.box.height / 2;
  const clamp = (v: number, max: number) => Math.min(Math.max(0, Math.round(v)), max);
  return { x: clamp(cx - side / 2, width - side), y: clamp(cy - side / 2, height - side), side };
}

/** A region of an image drawn at some scale: image point p lands at (p - origin) * scale. */
export interface MaskFrame {
  x: number;
  y: number;
  scale: number;
  width: number;
  height: number;
}

export interface OvalOptions {
  dilation: number;
  feather: number;
}

/** The face mask over a crop drawn at `px` x `px`. */
export function faceMask(face: DetectedFace, crop: CropBox, px: number, o: OvalOptions): Promise<Mask> {
  return ovalMask(face, { x: crop.x, y: crop.y, scale: px / crop.side, width: px, height: px }, o);
}

/**
 * A face's mask in a frame: its face oval dilated by `dilation`, the edge feathered inside the dilated
 * outline (clipped to it, so it is 0 outside); both as fractions of the face's longer side.
 */
export async function ovalMask(face: DetectedFace, frame: MaskFrame, o: OvalOptions): Promise<Mask> {
  const { width, height, scale } = frame;
  const faceSide = Math.max(face.box.width, face.box.height) * scale;
  const local = contour(face.mesh, FACE_OVAL).map((p: Point) => ({ x: (p.x - frame.x) * scale, y: (p.y - frame.y) * scale }));
  const path = svgPath(local);
  const dilate = o.dilation * faceSide;
  const sigma = o.feather * faceSide;
  const hard = await renderMask(width, height, `<path d="${path}" fill="#fff" stroke="#fff" stroke-width="${(2 * dilate).toFixed(1)}" stroke-linejoin="round"/>`);
  if (sigma < 0.3) return hard;
  // The soft edge: the oval grown by (dilate - reach) (shrunk when negative), then blurred.
  const grow = dilate - BLUR_REACH * sigma;
  const stroke = grow >= 0 ? '#fff' : '#000';
  const soft = await renderMask(width, height, `<path d="${path}" fill="#fff"/><path d="${path}" fill="none" stroke="${stroke}" stroke-width="${(2 * Math.abs(grow)).toFixed(1)}" stroke-linejoin="round"/>`, sigma);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(hard.data[i]!, soft.data[i]!);
  return { width, height, channels: 1, data };
}

/** Re-samples one face of `image` (RGB) and pastes it back; the rest of the image is the same array values. */
export async function detailFace(model: SdModel, image: Image, face: DetectedFace, options: FaceDetailOptions, hooks: FaceDetailHooks = {}): Promise<FaceDetailResult> {
  if (image.channels !== 3) throw new Error(`face detail needs an RGB image, got ${image.channels} channels`);
  const o = FaceDetailOptionsSchema.parse(options);
  const crop = cropBox(face, image.width, image.height, o.padding);
  const region = fromImage(image).extract({ left: crop.x, top: crop.y, width: crop.side, height: crop.side });
  const before = await toImage(region.clone().resize(o.size, o.size, { kernel: 'lanczos3' }), image.name);
  const sampleMask = await faceMask(face, crop, o.size, o);

  const params: SampleParams = {
    prompt: o.prompt, negativePrompt: o.negativePrompt, steps: o.steps, cfg: o.cfg, seed: o.seed, scheduler: o.scheduler,
    width: o.size, height: o.size, strength: o.denoise,
  };
  const latent = await sample(model, params, {
    signal: hooks.signal,
    init: before,
    mask: sampleMask,
    textLora: hooks.loras?.text,
    unetLora: hooks.loras && ((i, total) => hooks.loras!.unet(i, total)),
    onStep: (s) => hooks.onStep?.(s.index, s.total),
  });
  // With the colour match, only the face's window is decoded: the match re-levels what the decoder's
  // norms see differently in a window (0.3-2.6 of 255 off the whole crop's decode on the demo model).
  const factor = latentFactor(model.config.vae);
  const win = o.matchColour ? maskWindow(sampleMask, factor, DECODE_MARGIN) : { x0: 0, y0: 0, x1: latent.width, y1: latent.height };
  let after = await decodeWindow(model, latent, win, before);
  if (o.matchColour) after = matchColour(after, before, sampleMask);

  // Back at the crop's size, through the mask drawn at that size.
  const pasted = await toImage(fromImage(after).resize(crop.side, crop.side, { kernel: 'lanczos3' }));
  const mask = await faceMask(face, crop, crop.side, o);
  const out = new Uint8Array(image.data);
  for (let y = 0; y < crop.side; y++) {
    for (let x = 0; x < crop.side; x++) {
      const m = mask.data[y * crop.side + x]!;
      if (m === 0) continue;
      const o3 = ((crop.y + y) * image.width + crop.x + x) * 3;
      const p3 = (y * crop.side + x) * 3;
      for (let c = 0; c < 3; c++) out[o3 + c] = Math.round(out[o3 + c]! + (m / 255) * (pasted.data[p3 + c]! - out[o3 + c]!));
    }
  }
  return { image: { ...image, data: out }, crop, mask, before, after: { ...after, name: image.name } };
}

/** Latent pixels decoded around the mask's box: the decoder's convolutions see this much context at the box's edge. */
export const DECODE_MARGIN = 4;

/** A window of a latent, in latent pixels: columns [x0, x1), rows [y0, y1). */
export interface LatentWindow {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The latent pixels over the mask's non-zero pixels, grown by `margin` on each side (inside the latent). */
export function maskWindow(mask: Mask, factor: number, margin: number): LatentWindow {
  let x0 = mask.width;
  let y0 = mask.height;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x >= x1) x1 = x + 1;
      if (y < y0) y0 = y;
      if (y >= y1) y1 = y + 1;
    }
  }
  const w = mask.width / factor;
  const h = mask.height / factor;
  if (x1 === 0) return { x0: 0, y0: 0, x1: w, y1: h };
  return {
    x0: Math.max(0, Math.floor(x0 / factor) - margin), y0: Math.max(0, Math.floor(y0 / factor) - margin),
    x1: Math.min(w, Math.ceil(x1 / factor) + margin), y1: Math.min(h, Math.ceil(y1 / factor) + margin),
  };
}

/**
 * Decodes only `win` of a one-image latent and lays it over `base` (the crop at the working size): the
 * paste mask is 0 outside the window, so the VAE decoder, the costliest fixed part of a face, runs on
 * the face's box instead of the whole crop. The window's edges are `DECODE_MARGIN` latent pixels away
 * from any masked pixel.
 */
async function decodeWindow(model: SdModel, latent: Latent, win: LatentWindow, base: Image): Promise<Image> {
  const { channels, width, height } = latent;
  const w = win.x1 - win.x0;
  const h = win.y1 - win.y0;
  if (w === width && h === height) return at(await decodeLatents(model, latent), 0, 'image');
  const data = new Float32Array(channels * w * h);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      const from = (c * height + win.y0 + y) * width + win.x0;
      data.set(latent.data.subarray(from, from + w), (c * h + y) * w);
    }
  }
  const part = at(await decodeLatents(model, { data, batch: 1, channels, width: w, height: h }), 0, 'image');
  const factor = base.width / width;
  const out = new Uint8Array(base.data);
  for (let y = 0; y < part.height; y++) {
    const at = ((win.y0 * factor + y) * base.width + win.x0 * factor) * 3;
    out.set(part.data.subarray(y * part.width * 3, (y + 1) * part.width * 3), at);
  }
  return { ...base, data: out };
}

/** `after`'s colours moved onto `before`'s (mean and spread per channel) over the face mask. */
function matchColour(after: Image, before: Image, mask: Mask): Image {
  const from = channelStats(after.data, 3, mask.data, 128);
  const to = channelStats(before.data, 3, mask.data, 128);
  if (!from || !to) return after;
  const { gain, bias } = colourTransfer(from, to);
  const data = new Uint8Array(after.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(gain[i % 3]! * after.data[i]! + bias[i % 3]!)));
  return { ...after, data };
}

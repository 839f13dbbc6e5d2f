// Person segmentation: the whole image squashed to the model input (as MediaPipe feeds these
// models), the probability map scaled back to the image with sharp. Returns a one-channel mask.
import sharp from 'sharp';
import { normalise } from './letterbox.ts';
import { floatInput, floatOutput, type ModelRunner } from './runner.ts';
import type { RawImage } from './types.ts';

export type SegmentationModel = 'selfie' | 'meet';

/** Model input size [height, width]. */
export const SEGMENTATION_INPUT: Record<SegmentationModel, [number, number]> = { selfie: [256, 256], meet: [144, 256] };

export interface PersonMask { width: number; height: number; channels: 1; data: Uint8Array }

/** Person probability per model pixel, 0..1. */
export function personProbability(kind: SegmentationModel, out: Float32Array): Float32Array {
  if (kind === 'selfie') return out; // already a sigmoid
  // meet: [bg, fg] logits per pixel; softmax over two classes = sigmoid(fg - bg).
  const p = new Float32Array(out.length / 2);
  for (let i = 0; i < p.length; i++) p[i] = 1 / (1 + Math.exp(out[2 * i]! - out[2 * i + 1]!));
  return p;
}

export async function segmentPerson(img: RawImage, kind: SegmentationModel, model: ModelRunner): Promise<PersonMask> {
  const [h, w] = SEGMENTATION_INPUT[kind];
  const resized = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  const res = await model.run({ input: floatInput(normalise(resized, 1 / 255, 0), [1, h, w, 3]) });
  const prob = personProbability(kind, floatOutput(res, kind === 'selfie' ? 'mask' : 'logits'));
  const small = Uint8Array.from(prob, (p) => Math.round(p * 255));
  const data = await sharp(small, { raw: { width: w, height: h, channels: 1 } })
    .resize(img.width, img.height, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return { width: img.width, height: img.height, channels: 1, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

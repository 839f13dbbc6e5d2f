// The two small 64x64 attribute models: SSR-Net age (RGB 0..255 -> years) and oarriaga's gender
// CNN (grey scaled to -1..1 -> [woman, man] probabilities). Both on the same aligned crop.
import { alignTransform } from './align.ts';
import { genderFromMaleProbability } from './faceres.ts';
import { floatInput, floatOutput, type ModelRunner } from './runner.ts';
import type { FaceAttributes, Landmarks5, RawImage } from './types.ts';
import { warpAffine } from './warp.ts';

export const SMALL_ATTRIBUTE_INPUT = 64;
const ZOOM = 0.8;

function crops(img: RawImage, faces: readonly Landmarks5[], grey: boolean, scale: number, offset: number): Float32Array {
  const size = SMALL_ATTRIBUTE_INPUT;
  const per = size * size * (grey ? 1 : 3);
  const batch = new Float32Array(per * faces.length);
  faces.forEach((lm, i) => batch.set(warpAffine(img, alignTransform(lm, size, ZOOM), size, size, { scale, offset, grey }), i * per));
  return batch;
}

/** SSR-Net age in years for each face. */
export async function ssrnetAge(img: RawImage, faces: readonly Landmarks5[], model: ModelRunner): Promise<number[]> {
  if (faces.length === 0) return [];
  const size = SMALL_ATTRIBUTE_INPUT;
  const res = await model.run({ input: floatInput(crops(img, faces, false, 1, 0), [faces.length, size, size, 3]) });
  return Array.from(floatOutput(res, 'age'));
}

/** oarriaga gender for each face. */
export async function oarriagaGender(img: RawImage, faces: readonly Landmarks5[], model: ModelRunner): Promise<Pick<FaceAttributes, 'gender' | 'genderScore'>[]> {
  if (faces.length === 0) return [];
  const res = await model.run({ input: floatInput(crops(img, faces, true, 2 / 255, -1), [faces.length, SMALL_ATTRIBUTE_INPUT, SMALL_ATTRIBUTE_INPUT, 1]) });
  const probs = floatOutput(res, 'gender');
  return faces.map((_, i) => genderFromMaleProbability(probs[i * 2 + 1]!));
}

// HSE FaceRes on an aligned 224x224 crop (pixels 0..255): a 1024-d identity descriptor (mean-pooled,
// non-negative; we L2-normalise it), gender (sigmoid, > 0.5 = male) and age (100-way softmax).
import { alignTransform } from './align.ts';
import { floatInput, floatOutput, type ModelRunner } from './runner.ts';
import type { FaceAttributes, Landmarks5, RawImage } from './types.ts';
import { warpAffine } from './warp.ts';

export const FACERES_INPUT = 224;
/** Template scale for the crop; 0.8 leaves some hair and chin in view and separated identities best on the demo photos. */
export const FACERES_ZOOM = 0.8;

export interface FaceResResult extends FaceAttributes {
  /** Unit-length 1024-d descriptor; compare with a dot product (cosine similarity). */
  descriptor: Float32Array;
}

export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const n = Math.sqrt(sum) || 1;
  return v.map((x) => x / n);
}

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`descriptor lengths differ: ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(na * nb) || 1);
}

/** Expected age from the 100-bin distribution (bin i = i years). */
export function expectedAge(probs: Float32Array): number {
  let age = 0;
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    age += i * probs[i]!;
    total += probs[i]!;
  }
  return age / total;
}

export function genderFromMaleProbability(p: number): Pick<FaceAttributes, 'gender' | 'genderScore'> {
  return p > 0.5 ? { gender: 'male', genderScore: p } : { gender: 'female', genderScore: 1 - p };
}

/** FaceRes on several faces of one image in one batch. */
export async function runFaceRes(img: RawImage, faces: readonly Landmarks5[], faceres: ModelRunner): Promise<FaceResResult[]> {
  if (faces.length === 0) return [];
  const size = FACERES_INPUT;
  const per = size * size * 3;
  const batch = new Float32Array(per * faces.length);
  faces.forEach((lm, i) => batch.set(warpAffine(img, alignTransform(lm, size, FACERES_ZOOM), size, size, { scale: 1, offset: 0 }), i * per));
  const out = await faceres.run({ input: floatInput(batch, [faces.length, size, size, 3]) });
  const descriptors = floatOutput(out, 'descriptor');
  const genders = floatOutput(out, 'gender');
  const ages = floatOutput(out, 'age');
  const dim = descriptors.length / faces.length;
  return faces.map((_, i) => ({
    descriptor: l2Normalise(descriptors.slice(i * dim, (i + 1) * dim)),
    ...genderFromMaleProbability(genders[i]!),
    age: expectedAge(ages.subarray(i * 100, (i + 1) * 100)),
  }));
}

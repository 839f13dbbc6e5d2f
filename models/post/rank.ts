// FaceChain's last step on generated portraits: keep those with exactly one face of a sensible size
// (FaceChain: one face whose box's longer side is 120-300 px in a 512 px image), score each by how
// much its face looks like the user (cosine similarity of identity descriptors to the template face
// and to the set's mean), best first, and keep the top K.
import { at } from '../../protocol/index.ts';
import type { FaceModels } from '../face/face-models.ts';
import type { Box, DetectedFace, RawImage } from '../face/types.ts';
import { dot, meanDescriptor } from '../preprocess/quality.ts';

export interface FaceSizeRule {
  /** Smallest and largest face: the box's longer side over the image's shorter side. */
  minFaceSize: number;
  maxFaceSize: number;
}

/** FaceChain's 120 and 300 px over its 512 px portraits. */
export const FACECHAIN_FACE_SIZE: FaceSizeRule = { minFaceSize: 120 / 512, maxFaceSize: 300 / 512 };

export type FaceCheck = { index: number } | { reason: string };

/** The face a result is judged by, or why the result is dropped. */
export function checkResultFace(boxes: readonly Box[], width: number, height: number, rule: FaceSizeRule): FaceCheck {
  if (boxes.length === 0) return { reason: 'no face found' };
  if (boxes.length > 1) return { reason: `${boxes.length} faces (needs exactly one)` };
  const size = Math.max(boxes[0]!.width, boxes[0]!.height) / Math.min(width, height);
  const range = `${rule.minFaceSize.toFixed(2)}-${rule.maxFaceSize.toFixed(2)}`;
  if (size < rule.minFaceSize) return { reason: `face too small (${size.toFixed(2)} of the image's shorter side, needs ${range})` };
  if (size > rule.maxFaceSize) return { reason: `face too large (${size.toFixed(2)} of the image's shorter side, needs ${range})` };
  return { index: 0 };
}

export type ResultFace = { face: DetectedFace; descriptor: Float32Array } | { reason: string };

/** Detects a result's faces, applies the face check and describes the face it keeps. */
export async function describeResultFace(models: FaceModels, img: RawImage, rule: FaceSizeRule): Promise<ResultFace> {
  const faces = await models.detect(img);
  const check = checkResultFace(faces.map((f) => f.box), img.width, img.height, rule);
  if ('reason' in check) return check;
  const face = at(faces, check.index, 'face');
  const { descriptor } = at(await models.describe(img, [face]), 0, 'face');
  return { face, descriptor };
}

export interface IdentityScore {
  /** Cosine similarity to the template face (undefined without one). */
  template?: number;
  /** Cosine similarity to the mean descriptor of the results kept by the face check. */
  mean: number;
  /** templateWeight * template + (1 - templateWeight) * mean; the mean alone without a template. */
  score: number;
}

/** Scores unit descriptors against the template's and their own mean. */
export function identityScores(descriptors: readonly Float32Array[], template: Float32Array | undefined, templateWeight: number): IdentityScore[] {
  if (!descriptors.length) return [];
  const mean = meanDescriptor(descriptors);
  return descriptors.map((d) => {
    const toMean = dot(d, mean);
    if (!template) return { mean: toMean, score: toMean };
    const toTemplate = dot(d, template);
    return { template: toTemplate, mean: toMean, score: templateWeight * toTemplate + (1 - templateWeight) * toMean };
  });
}

/** Indices of the `topK` best scores, best first (ties keep input order). */
export function topIndices(scores: readonly number[], topK: number): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, topK)
    .map(({ i }) => i);
}

// Aligned face crops: a similarity transform puts the five landmarks onto a fixed template, so
// the embedding and attribute models see faces upright, centred and at one scale.
import { estimateSimilarity, type Affine } from './geometry.ts';
import type { Landmarks5, Point } from './types.ts';

/** The standard 112x112 five-point template of ArcFace-style recognisers (eyes, nose, mouth corners). */
export const TEMPLATE_112: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/**
 * Image -> crop map that places the landmarks on the template scaled to `size`; `zoom` < 1 shows
 * more around the face (0.5 = the face at half the template's size, centred the same).
 */
export function alignTransform(landmarks: Landmarks5, size: number, zoom = 1): Affine {
  const s = (size / 112) * zoom;
  const c = size / 2;
  const target = TEMPLATE_112.map((p) => ({ x: c + (p.x - 56) * s, y: c + (p.y - 56) * s }));
  return estimateSimilarity(landmarks, target);
}

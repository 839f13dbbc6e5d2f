// Per-face quality scores and FaceChain's selection: rank by identity consistency, image quality
// and pose, drop the unusable with a reason, keep the best N, take the best as the template face.
import type { Point } from '../face/types.ts';
import { FACEMESH_NOSE_HEIGHT } from './align.ts';
import type { Quality } from './values.ts';

/** Variance of the 4-neighbour Laplacian over a grey image (the usual focus measure). */
export function laplacianVariance(grey: Uint8Array, width: number, height: number): number {
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const l = grey[i - 1]! + grey[i + 1]! + grey[i - width]! + grey[i + width]! - 4 * grey[i]!;
      sum += l;
      sum2 += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sum2 / n - mean * mean;
}

/**
 * How frontal a face is, 0..1, from the five landmarks: the nose tip's position along the eye line
 * (0.5 when facing the camera; it slides towards one eye as the head turns) and its height between
 * the eye line and the mouth line (FACEMESH_NOSE_HEIGHT on a typical face; it moves as the head nods).
 */
export function frontalScore(landmarks: readonly Point[]): number {
  const [le, re, nose, lm, rm] = landmarks;
  const ex = re!.x - le!.x;
  const ey = re!.y - le!.y;
  const eyeLen2 = ex * ex + ey * ey;
  if (eyeLen2 === 0) return 0;
  const along = ((nose!.x - le!.x) * ex + (nose!.y - le!.y) * ey) / eyeLen2;
  // Heights measured perpendicular to the eye line.
  const eyeLen = Math.sqrt(eyeLen2);
  const across = (p: Point) => (-(p.x - le!.x) * ey + (p.y - le!.y) * ex) / eyeLen;
  const mouth = (across(lm!) + across(rm!)) / 2;
  const down = mouth > 0 ? across(nose!) / mouth : 0;
  const yaw = Math.min(1, Math.abs(along - 0.5) * 2);
  const pitch = Math.min(1, Math.abs(down - FACEMESH_NOSE_HEIGHT) * 2);
  return Math.max(0, (1 - yaw) * (1 - pitch));
}

/** Mean of unit vectors, renormalised. */
export function meanDescriptor(descriptors: readonly Float32Array[]): Float32Array {
  if (!descriptors.length) throw new Error('no descriptors to average');
  const mean = new Float32Array(descriptors[0]!.length);
  for (const d of descriptors) for (let i = 0; i < d.length; i++) mean[i]! += d[i]!;
  let norm = 0;
  for (const v of mean) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  return mean.map((v) => v / norm);
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export interface SelectionRules {
  /** Smallest face (larger box side in the source photo, px). */
  minFaceSize: number;
  /** Smallest Laplacian variance of the face region. */
  minSharpness: number;
  minFrontal: number;
  minConfidence: number;
  /** Smallest cosine similarity to the set's mean descriptor (a different person falls below). */
  minSimilarity: number;
  /** Keep at most this many, best first (FaceChain: 15). */
  maxImages: number;
}

export interface Candidate { faceSize: number; quality: Omit<Quality, 'score'> }

export type Verdict = { keep: true; rank: number; score: number } | { keep: false; reason: string; score: number };

/** Sharpness at which the sharpness factor reaches 1 - 1/e (a crisp 512 crop scores well above it). */
const SHARPNESS_SCALE = 100;

/** The combined score: FaceChain multiplies identity, quality and pose scores; so do we. */
export function combinedScore(q: Omit<Quality, 'score'>): number {
  return Math.max(0, q.similarity) * q.frontal * q.confidence * (1 - Math.exp(-q.sharpness / SHARPNESS_SCALE));
}

/** One verdict per candidate, in input order; kept ones carry their rank (0 = the template face). */
export function selectFaces(candidates: readonly Candidate[], rules: SelectionRules): Verdict[] {
  const verdicts: Verdict[] = candidates.map(({ faceSize, quality: q }) => {
    const score = combinedScore(q);
    const fail = (reason: string): Verdict => ({ keep: false, reason, score });
    if (faceSize < rules.minFaceSize) return fail(`face too small (${Math.round(faceSize)} px, needs ${rules.minFaceSize})`);
    if (q.confidence < rules.minConfidence) return fail(`low detection confidence (${q.confidence.toFixed(2)}, needs ${rules.minConfidence})`);
    if (q.sharpness < rules.minSharpness) return fail(`blurry (sharpness ${q.sharpness.toFixed(0)}, needs ${rules.minSharpness})`);
    if (q.frontal < rules.minFrontal) return fail(`head turned too far (frontal ${q.frontal.toFixed(2)}, needs ${rules.minFrontal})`);
    if (q.similarity < rules.minSimilarity) return fail(`looks like a different person (similarity ${q.similarity.toFixed(2)}, needs ${rules.minSimilarity})`);
    return { keep: true, rank: 0, score };
  });
  const order = verdicts.map((v, i) => ({ v, i })).filter(({ v }) => v.keep).sort((a, b) => b.v.score - a.v.score);
  order.forEach(({ v, i }, rank) => {
    verdicts[i] = rank < rules.maxImages ? { keep: true, rank, score: v.score } : { keep: false, reason: `not among the best ${rules.maxImages}`, score: v.score };
  });
  return verdicts;
}

// BlazeFace (back-camera model, 256x256 input) output decoding: anchors, boxes, keypoints, NMS.
// Each anchor row is [dx, dy, w, h, kx0, ky0, ..., kx5, ky5] in input pixels relative to the
// anchor centre; the score is a logit.
import { iou } from './geometry.ts';
import type { Box, Point } from './types.ts';

export const BLAZEFACE_INPUT = 256;

/** Anchor centres, in input pixels: 16x16 grid (stride 16) x 2, then 8x8 (stride 32) x 6 = 896. */
export function blazefaceAnchors(): Point[] {
  const anchors: Point[] = [];
  for (const [stride, perCell] of [[16, 2], [32, 6]] as const) {
    const cells = BLAZEFACE_INPUT / stride;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) anchors.push({ x: (x + 0.5) * stride, y: (y + 0.5) * stride });
      }
    }
  }
  return anchors;
}

export interface Detection {
  box: Box;
  score: number;
  /** Image-left eye, other eye, nose tip, mouth centre, two ear tragions. */
  keypoints: Point[];
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Anchors whose score passes `minScore`, decoded to input-pixel boxes and keypoints. */
export function decodeBlazeface(logits: Float32Array, regressors: Float32Array, anchors: readonly Point[], minScore: number): Detection[] {
  if (logits.length !== anchors.length || regressors.length !== anchors.length * 16) {
    throw new Error(`blazeface outputs: ${logits.length} scores and ${regressors.length / 16} boxes for ${anchors.length} anchors`);
  }
  const out: Detection[] = [];
  for (let i = 0; i < anchors.length; i++) {
    const score = sigmoid(logits[i]!);
    if (score < minScore) continue;
    const r = regressors.subarray(i * 16, i * 16 + 16);
    const { x: ax, y: ay } = anchors[i]!; // one anchor per box
    const cx = ax + r[0]!;
    const cy = ay + r[1]!;
    const keypoints: Point[] = [];
    for (let k = 0; k < 6; k++) keypoints.push({ x: ax + r[4 + 2 * k]!, y: ay + r[5 + 2 * k]! });
    out.push({ box: { x: cx - r[2]! / 2, y: cy - r[3]! / 2, width: r[2]!, height: r[3]! }, score, keypoints });
  }
  return out;
}

/**
 * Weighted non-maximum suppression (as MediaPipe does for BlazeFace): the best detection absorbs
 * the ones overlapping it by more than `iouThreshold`, and its box and keypoints become their
 * score-weighted mean, which steadies them.
 */
export function weightedNms(dets: readonly Detection[], iouThreshold: number): Detection[] {
  const rest = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  while (rest.length) {
    const top = rest[0]!;
    const group = rest.filter((d) => iou(top.box, d.box) > iouThreshold);
    const others = rest.filter((d) => iou(top.box, d.box) <= iouThreshold);
    const total = group.reduce((s, d) => s + d.score, 0);
    const avg = (get: (d: Detection) => number) => group.reduce((s, d) => s + get(d) * d.score, 0) / total;
    kept.push({
      score: top.score,
      box: { x: avg((d) => d.box.x), y: avg((d) => d.box.y), width: avg((d) => d.box.width), height: avg((d) => d.box.height) },
      keypoints: top.keypoints.map((_, k) => ({ x: avg((d) => d.keypoints[k]!.x), y: avg((d) => d.keypoints[k]!.y) })),
    });
    rest.splice(0, rest.length, ...others);
  }
  return kept;
}

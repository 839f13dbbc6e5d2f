// FaceChain's one-subject rule: a photo is usable when it shows exactly one face, or when its
// largest face is at least `minAreaRatio` times the area of the next (a bystander in the back).
import type { Box } from '../face/types.ts';

export type FacePick = { index: number } | { reason: string };

/** Which face a photo is about, or why the photo is dropped. */
export function pickDominantFace(boxes: readonly Box[], minAreaRatio = 4): FacePick {
  if (boxes.length === 0) return { reason: 'no face found' };
  const order = boxes.map((b, i) => ({ i, area: b.width * b.height })).sort((a, b) => b.area - a.area);
  if (order.length > 1 && order[0]!.area < minAreaRatio * order[1]!.area) {
    const ratio = order[0]!.area / order[1]!.area;
    return { reason: `${boxes.length} faces of similar size (largest ${ratio.toFixed(1)}x the next, needs ${minAreaRatio}x)` };
  }
  return { index: order[0]!.i };
}

// Face detection: BlazeFace on the whole image, then FaceMesh on an upright crop of each candidate
// (twice: the second crop is framed from the first mesh). FaceMesh's face flag rejects false
// positives; the mesh gives the landmarks, the roll and a tight box.
import { BLAZEFACE_INPUT, blazefaceAnchors, decodeBlazeface, weightedNms, type Detection } from './blazeface-decode.ts';
import { applyAffine, boundingBox, invertAffine, iou, lineAngle, squareToCrop, type RotatedSquare } from './geometry.ts';
import { letterbox, normalise } from './letterbox.ts';
import { landmarks5FromMesh, meshRoll, MESH_POINTS, squareAroundMesh } from './mesh-points.ts';
import { floatInput, floatOutput, type ModelRunner } from './runner.ts';
import type { DetectedFace, Point3, RawImage } from './types.ts';
import { warpAffine } from './warp.ts';

export const FACEMESH_INPUT = 192;
const ANCHORS = blazefaceAnchors();

export interface DetectOptions {
  /** BlazeFace score a candidate needs (default 0.5). */
  minScore?: number;
  /** FaceMesh face-flag a candidate needs to be kept (default 0.5). */
  minFaceness?: number;
  /** Overlap above which candidates are merged (default 0.3). */
  iouThreshold?: number;
  /** At most this many faces, best first (default: all). */
  maxFaces?: number;
}

export interface FaceDetectorModels {
  blazeface: ModelRunner;
  facemesh: ModelRunner;
}

/** Candidates from BlazeFace, in image pixels. */
export async function detectCandidates(img: RawImage, blazeface: ModelRunner, minScore: number, iouThreshold: number): Promise<Detection[]> {
  const lb = await letterbox(img, BLAZEFACE_INPUT);
  const input = normalise(lb.pixels, 1 / 127.5, -1);
  const out = await blazeface.run({ input: floatInput(input, [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3]) });
  const logits = concat(floatOutput(out, 'scores16'), floatOutput(out, 'scores32'));
  const boxes = concat(floatOutput(out, 'boxes16'), floatOutput(out, 'boxes32'));
  const dets = weightedNms(decodeBlazeface(logits, boxes, ANCHORS, minScore), iouThreshold);
  const toImage = ({ x, y }: { x: number; y: number }) => ({ x: x / lb.scaleX, y: y / lb.scaleY });
  return dets.map((d) => {
    const tl = toImage(d.box);
    const br = toImage({ x: d.box.x + d.box.width, y: d.box.y + d.box.height });
    return { score: d.score, box: { x: tl.x, y: tl.y, width: br.x - tl.x, height: br.y - tl.y }, keypoints: d.keypoints.map(toImage) };
  });
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The first FaceMesh crop: around the detection box, turned upright along its eye keypoints. */
export function squareAroundDetection(det: Detection, scale = 1.5): RotatedSquare {
  return {
    center: { x: det.box.x + det.box.width / 2, y: det.box.y + det.box.height / 2 },
    size: Math.max(det.box.width, det.box.height) * scale,
    angle: lineAngle(det.keypoints[0], det.keypoints[1]),
  };
}

export interface MeshResult { mesh: Point3[]; faceness: number }

/** FaceMesh on a batch of rotated squares; mesh points come back in image pixels. */
export async function runFaceMesh(img: RawImage, rois: readonly RotatedSquare[], facemesh: ModelRunner): Promise<MeshResult[]> {
  if (rois.length === 0) return [];
  const size = FACEMESH_INPUT;
  const per = size * size * 3;
  const batch = new Float32Array(per * rois.length);
  const maps = rois.map((roi) => squareToCrop(roi, size));
  maps.forEach((m, i) => batch.set(warpAffine(img, m, size, size, { scale: 1 / 255, offset: 0 }), i * per));
  const out = await facemesh.run({ input: floatInput(batch, [rois.length, size, size, 3]) });
  const mesh = floatOutput(out, 'mesh');
  const flags = floatOutput(out, 'faceflag');
  return maps.map((m, i) => {
    const back = invertAffine(m);
    const zScale = rois[i].size / size;
    const points: Point3[] = [];
    for (let k = 0; k < MESH_POINTS; k++) {
      const o = (i * MESH_POINTS + k) * 3;
      const p = applyAffine(back, { x: mesh[o], y: mesh[o + 1] });
      points.push({ x: p.x, y: p.y, z: mesh[o + 2] * zScale });
    }
    return { mesh: points, faceness: flags[i] };
  });
}

export async function detectFaces(img: RawImage, models: FaceDetectorModels, options: DetectOptions = {}): Promise<DetectedFace[]> {
  const minFaceness = options.minFaceness ?? 0.5;
  const iouThreshold = options.iouThreshold ?? 0.3;
  const candidates = await detectCandidates(img, models.blazeface, options.minScore ?? 0.5, iouThreshold);
  const first = await runFaceMesh(img, candidates.map((c) => squareAroundDetection(c)), models.facemesh);
  const second = await runFaceMesh(img, first.map((r) => squareAroundMesh(r.mesh)), models.facemesh);
  const faces: DetectedFace[] = [];
  second.forEach((r, i) => {
    if (r.faceness < minFaceness) return;
    faces.push({
      box: boundingBox(r.mesh),
      score: candidates[i].score,
      faceness: r.faceness,
      landmarks: landmarks5FromMesh(r.mesh),
      roll: meshRoll(r.mesh),
      mesh: r.mesh,
    });
  });
  // Two candidates can settle on the same face once refined; keep the better one.
  const kept: DetectedFace[] = [];
  for (const f of faces.sort((a, b) => b.score - a.score)) {
    if (kept.every((k) => iou(k.box, f.box) < 0.5)) kept.push(f);
  }
  return kept.slice(0, options.maxFaces ?? kept.length);
}

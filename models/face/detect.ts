// Face detection: BlazeFace on the whole image, then FaceMesh on an upright crop of each candidate
// (twice: the second crop is framed from the first mesh). FaceMesh's face flag rejects false
// positives (real faces score 0.9-1 on the demo photos, BlazeFace's false candidates under 0.1);
// the mesh gives the landmarks, the roll and a tight box.
import { BLAZEFACE_INPUT, blazefaceAnchors, decodeBlazeface, weightedNms, type Detection } from './blazeface-decode.ts';
import { applyAffine, boundingBox, invertAffine, iou, lineAngle, squareToCrop, type RotatedSquare } from './geometry.ts';
import { letterbox, normalise, type Region } from './letterbox.ts';
import { landmarks5FromMesh, meshRoll, MESH_POINTS, squareAroundMesh } from './mesh-points.ts';
import { floatInput, floatOutput, type ModelRunner } from './runner.ts';
import type { DetectedFace, Point, Point3, RawImage } from './types.ts';
import { warpAffine } from './warp.ts';

export const FACEMESH_INPUT = 192;
const ANCHORS = blazefaceAnchors();

export interface DetectOptions {
  /** BlazeFace score a candidate needs (default 0.3: FaceMesh's face flag weeds out the false ones). */
  minScore?: number;
  /** FaceMesh face-flag a candidate needs to be kept (default 0.5). */
  minFaceness?: number;
  /** Overlap above which candidates are merged (default 0.3). */
  iouThreshold?: number;
  /** At most this many faces, best first (default: all). */
  maxFaces?: number;
  /**
   * Also run BlazeFace on an n x n grid of overlapping tiles (default 1 = whole image only). The
   * whole-image pass finds faces down to about 1/20 of the image's long side; 2 halves that.
   */
  tiles?: number;
}

export interface FaceDetectorModels {
  blazeface: ModelRunner;
  facemesh: ModelRunner;
}

/** The whole image, then an n x n grid of tiles overlapping by 30%. */
export function detectionRegions(width: number, height: number, tiles: number): Region[] {
  const regions: Region[] = [{ left: 0, top: 0, width, height }];
  if (tiles <= 1) return regions;
  const tw = Math.min(width, Math.round((width / tiles) * 1.3));
  const th = Math.min(height, Math.round((height / tiles) * 1.3));
  for (let j = 0; j < tiles; j++) {
    for (let i = 0; i < tiles; i++) {
      regions.push({ left: Math.round((i * (width - tw)) / (tiles - 1)), top: Math.round((j * (height - th)) / (tiles - 1)), width: tw, height: th });
    }
  }
  return regions;
}

/** BlazeFace on one region; candidates in image pixels. */
async function detectInRegion(img: RawImage, region: Region, blazeface: ModelRunner, minScore: number): Promise<Detection[]> {
  const lb = await letterbox(img, BLAZEFACE_INPUT, region);
  const input = normalise(lb.pixels, 1 / 127.5, -1);
  const out = await blazeface.run({ input: floatInput(input, [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3]) });
  const logits = concat(floatOutput(out, 'scores16'), floatOutput(out, 'scores32'));
  const boxes = concat(floatOutput(out, 'boxes16'), floatOutput(out, 'boxes32'));
  const toImage = ({ x, y }: Point) => ({ x: region.left + x / lb.scaleX, y: region.top + y / lb.scaleY });
  return decodeBlazeface(logits, boxes, ANCHORS, minScore).map((d) => {
    const tl = toImage(d.box);
    const br = toImage({ x: d.box.x + d.box.width, y: d.box.y + d.box.height });
    return { score: d.score, box: { x: tl.x, y: tl.y, width: br.x - tl.x, height: br.y - tl.y }, keypoints: d.keypoints.map(toImage) };
  });
}

/** Candidates from BlazeFace over the whole image (and tiles), merged, in image pixels. */
export async function detectCandidates(img: RawImage, blazeface: ModelRunner, minScore: number, iouThreshold: number, tiles = 1): Promise<Detection[]> {
  const all: Detection[] = [];
  for (const region of detectionRegions(img.width, img.height, tiles)) all.push(...(await detectInRegion(img, region, blazeface, minScore)));
  return weightedNms(all, iouThreshold);
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
    angle: lineAngle(det.keypoints[0]!, det.keypoints[1]!),
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
    const zScale = rois[i]!.size / size;
    const points: Point3[] = [];
    for (let k = 0; k < MESH_POINTS; k++) {
      const o = (i * MESH_POINTS + k) * 3;
      const p = applyAffine(back, { x: mesh[o]!, y: mesh[o + 1]! });
      points.push({ x: p.x, y: p.y, z: mesh[o + 2]! * zScale });
    }
    return { mesh: points, faceness: flags[i]! }; // one flag per face
  });
}

export async function detectFaces(img: RawImage, models: FaceDetectorModels, options: DetectOptions = {}): Promise<DetectedFace[]> {
  const minFaceness = options.minFaceness ?? 0.5;
  const iouThreshold = options.iouThreshold ?? 0.3;
  const candidates = await detectCandidates(img, models.blazeface, options.minScore ?? 0.3, iouThreshold, options.tiles ?? 1);
  const first = await runFaceMesh(img, candidates.map((c) => squareAroundDetection(c)), models.facemesh);
  const second = await runFaceMesh(img, first.map((r) => squareAroundMesh(r.mesh)), models.facemesh);
  const faces: DetectedFace[] = [];
  second.forEach((refined, i) => {
    // The mesh-framed crop is better placed, except on some profile faces, where FaceMesh's first
    // mesh is poor and the crop built from it loses the face: then keep the first pass.
    const r = (refined.faceness >= minFaceness || refined.faceness >= first[i]!.faceness ? refined : first[i])!;
    if (r.faceness < minFaceness) return;
    faces.push({
      box: boundingBox(r.mesh),
      score: candidates[i]!.score,
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

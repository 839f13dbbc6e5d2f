// FaceMesh's 468 points: the five alignment landmarks and the crop for the next mesh pass.
import { lineAngle, type RotatedSquare } from './geometry.ts';
import type { Landmarks5, Point } from './types.ts';

export const MESH_POINTS = 468;

// Canonical-mesh indices: eye corners (33/133 and 362/263), nose tip (1), mouth corners (61, 291).
// 33/133 and 61 are the subject's right side, i.e. image-left on a frontal, upright face.
const EYE_A = [33, 133];
const EYE_B = [362, 263];
const NOSE_TIP = 1;
const MOUTH_A = 61;
const MOUTH_B = 291;

function mean(points: readonly Point[], idx: readonly number[]): Point {
  return { x: idx.reduce((s, i) => s + points[i]!.x, 0) / idx.length, y: idx.reduce((s, i) => s + points[i]!.y, 0) / idx.length };
}

/** The five alignment landmarks from the mesh, in image-left/image-right order. */
export function landmarks5FromMesh(mesh: readonly Point[]): Landmarks5 {
  if (mesh.length !== MESH_POINTS) throw new Error(`expected ${MESH_POINTS} mesh points, got ${mesh.length}`);
  return [mean(mesh, EYE_A), mean(mesh, EYE_B), mesh[NOSE_TIP]!, mesh[MOUTH_A]!, mesh[MOUTH_B]!];
}

/** Roll of a face from its eye line (subject's right eye to left eye). */
export function meshRoll(mesh: readonly Point[]): number {
  return lineAngle(mean(mesh, EYE_A), mean(mesh, EYE_B));
}

/**
 * The rotated square around the mesh, upright along the eye line, `scale` times the larger side of
 * the mesh's extent in that upright frame (MediaPipe crops 1.5x around the landmarks).
 */
export function squareAroundMesh(mesh: readonly Point[], scale = 1.5): RotatedSquare {
  const angle = meshRoll(mesh);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  let u0 = Infinity;
  let u1 = -Infinity;
  let v0 = Infinity;
  let v1 = -Infinity;
  for (const p of mesh) {
    const u = p.x * cos + p.y * sin; // coordinates along and across the eye line
    const v = -p.x * sin + p.y * cos;
    u0 = Math.min(u0, u);
    u1 = Math.max(u1, u);
    v0 = Math.min(v0, v);
    v1 = Math.max(v1, v);
  }
  const cu = (u0 + u1) / 2;
  const cv = (v0 + v1) / 2;
  return { center: { x: cu * cos - cv * sin, y: cu * sin + cv * cos }, size: Math.max(u1 - u0, v1 - v0) * scale, angle };
}

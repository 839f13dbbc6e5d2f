// FaceChain's roll alignment (paper, section 3.1): fit the detected points to a standard face by
// least squares after normalising both, read the roll off the fitted matrix.
import { at } from '../../protocol/index.ts';
import type { Point } from '../face/types.ts';

/**
 * FaceChain's mean face (`dst_mean_face` in its preprocessing), in units of the face box: image-left
 * eye, image-right eye, nose tip, image-left and image-right mouth corners. Scale and offset do not
 * matter: both point sets are normalised before the fit.
 */
export const STANDARD_FACE_5: readonly Point[] = [
  { x: 0.31074522411511746, y: 0.2798131190011913 },
  { x: 0.6892073313037804, y: 0.2797830232679366 },
  { x: 0.49997367716346774, y: 0.5099309118810921 },
  { x: 0.35811903020866753, y: 0.7233174007629063 },
  { x: 0.6418878095835022, y: 0.7232890570786875 },
];

/**
 * Where FaceMesh's nose tip (mesh point 1) sits between the eye line (0) and the mouth line (1): the
 * median over the 22 faces of the face-api demo photos is 0.715 (range 0.48-0.95); FaceChain's
 * template, made for another detector's nose point, has 0.52.
 */
export const FACEMESH_NOSE_HEIGHT = 0.715;

/** FaceChain's mean face with the nose tip where FaceMesh puts it. */
export const MESH_STANDARD_FACE_5: readonly Point[] = STANDARD_FACE_5.map((p, i) => {
  if (i !== 2) return p;
  const eyes = STANDARD_FACE_5[0]!.y;
  const mouth = STANDARD_FACE_5[3]!.y;
  return { x: p.x, y: eyes + FACEMESH_NOSE_HEIGHT * (mouth - eyes) };
});

/** Subtracts the mean and divides by the standard deviation of all coordinates (numpy's `std` of the array). */
export function normalisePoints(points: readonly Point[]): Point[] {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const variance = points.reduce((s, p) => s + (p.x - mx) ** 2 + (p.y - my) ** 2, 0) / (2 * n);
  const std = Math.max(Math.sqrt(variance), 1e-4);
  return points.map((p) => ({ x: (p.x - mx) / std, y: (p.y - my) / std }));
}

/** 2x2 matrix, row-major: [r11, r12, r21, r22]. */
export type Mat2 = [number, number, number, number];

/**
 * The least-squares R with R·p1 ≈ p2 for normalised point sets: R = ((P1ᵀP1)⁻¹ P1ᵀP2)ᵀ, where P1 and
 * P2 hold one point per row.
 */
export function leastSquaresMatrix(p1: readonly Point[], p2: readonly Point[]): Mat2 {
  if (p1.length !== p2.length || p1.length < 2) throw new Error('least squares needs two or more point pairs');
  // P1ᵀP1 and P1ᵀP2, both 2x2.
  let a = 0, b = 0, d = 0; // P1ᵀP1 = [[a, b], [b, d]]
  let m11 = 0, m12 = 0, m21 = 0, m22 = 0; // P1ᵀP2
  for (let i = 0; i < p1.length; i++) {
    const { x, y } = p1[i]!;
    const { x: u, y: v } = p2[i]!;
    a += x * x; b += x * y; d += y * y;
    m11 += x * u; m12 += x * v; m21 += y * u; m22 += y * v;
  }
  const det = a * d - b * b;
  if (Math.abs(det) < 1e-12) throw new Error('landmarks are collinear: cannot fit a rotation');
  // (P1ᵀP1)⁻¹ P1ᵀP2 = M, then R = Mᵀ.
  const M11 = (d * m11 - b * m21) / det;
  const M12 = (d * m12 - b * m22) / det;
  const M21 = (-b * m11 + a * m21) / det;
  const M22 = (-b * m12 + a * m22) / det;
  return [M11, M21, M12, M22];
}

/**
 * The angle (radians) to turn the image by so the face matches the upright template: θ = atan(R21/R22).
 * Positive turns clockwise on screen (y pointing down), which is sharp's `rotate` direction. A face
 * rolled clockwise by α gives θ = -α.
 */
export function alignmentAngle(landmarks: readonly Point[], template: readonly Point[]): number {
  const [, , r21, r22] = leastSquaresMatrix(normalisePoints(landmarks), normalisePoints(template));
  // atan keeps θ within ±90°, as in the paper; quarter turns are the upright node's job.
  return Math.abs(r22) > 1e-9 ? Math.atan(r21 / r22) : Math.sign(r21) * (Math.PI / 2);
}

/**
 * The turn that levels a face, fitted on eyes and mouth corners, plus the nose tip when `withNose`.
 * The nose tip stands out of the plane of the other four, so a turned or nodding head moves it
 * across the face and tilts a fit that includes it (eye line off by up to 12 degrees on the demo
 * faces, 5 with the nose moved to FaceMesh's height). The four coplanar points move together under
 * any head turn (an affine change in weak perspective), which the least-squares matrix absorbs
 * while its rotation stays exact: within 2 degrees on all 22 demo faces.
 */
export function rollCorrection(landmarks: readonly Point[], withNose = false): number {
  const use = withNose ? [0, 1, 2, 3, 4] : [0, 1, 3, 4];
  return alignmentAngle(use.map((i) => at(landmarks, i)), use.map((i) => at(MESH_STANDARD_FACE_5, i)));
}

// 2-D affine maps between image and crop coordinates. Coordinates are continuous: pixel (i, j)
// covers [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5).
import type { Box, Point } from './types.ts';

/** x' = a*x + b*y + c, y' = d*x + e*y + f. */
export type Affine = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

export function applyAffine(m: Affine, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] };
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new Error('affine map is singular');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** A square region of the image, turned by `angle` radians (clockwise on screen, y pointing down). */
export interface RotatedSquare { center: Point; size: number; angle: number }

/**
 * Image -> crop map for a rotated square: the square's centre lands in the crop's centre and its
 * rotation is undone, so a face tilted by `angle` comes out upright.
 */
export function squareToCrop(roi: RotatedSquare, outSize: number): Affine {
  const s = outSize / roi.size;
  const cos = Math.cos(roi.angle) * s;
  const sin = Math.sin(roi.angle) * s;
  const { x, y } = roi.center;
  const h = outSize / 2;
  // Rotate by -angle, scale, then move the centre to (h, h).
  return [cos, sin, h - cos * x - sin * y, -sin, cos, h + sin * x - cos * y];
}

/** Angle of the line from `a` to `b`, radians (0 = pointing right, positive = turning clockwise on screen). */
export function lineAngle(a: Point, b: Point): number {
  return Math.atan2(b.y - a.y, b.x - a.x);
}

/**
 * Least-squares similarity (rotation, uniform scale, translation; no reflection) taking `src` onto
 * `dst` (Umeyama's method in 2-D).
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error('similarity needs two or more point pairs');
  const mean = (ps: readonly Point[]) => ({ x: ps.reduce((s, p) => s + p.x, 0) / n, y: ps.reduce((s, p) => s + p.y, 0) / n });
  const ms = mean(src);
  const md = mean(dst);
  let sxx = 0; // sum of src·dst
  let sxy = 0; // sum of src×dst
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const ax = src[i]!.x - ms.x;
    const ay = src[i]!.y - ms.y;
    const bx = dst[i]!.x - md.x;
    const by = dst[i]!.y - md.y;
    sxx += ax * bx + ay * by;
    sxy += ax * by - ay * bx;
    ss += ax * ax + ay * ay;
  }
  const a = sxx / ss; // scale * cos
  const b = sxy / ss; // scale * sin
  return [a, -b, md.x - (a * ms.x - b * ms.y), b, a, md.y - (b * ms.x + a * ms.y)];
}

export function boundingBox(points: readonly Point[]): Box {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    x0 = Math.min(x0, p.x);
    y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x);
    y1 = Math.max(y1, p.y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

export function boxContains(box: Box, p: Point): boolean {
  return p.x >= box.x && p.x <= box.x + box.width && p.y >= box.y && p.y <= box.y + box.height;
}

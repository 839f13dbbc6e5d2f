// Piecewise-affine warp between two FaceMesh point sets: each triangle of the target's mesh takes the
// template's pixels from the matching triangle, so a template face follows the target's pose and
// expression, not only its position, size and roll.
import type { Point } from '../face/types.ts';
import type { Image } from '../../runtime/values.ts';

/**
 * Writes into `out` ([height, width, 3] floats, 0..255), for every pixel of the region whose centre lies
 * in a triangle of `target` (region coordinates), the template image bilinearly sampled at the matching
 * point of the `template` triangle (template image coordinates). Other pixels are left as they are.
 */
export function meshWarp(
  template: Image, target: readonly Point[], templatePoints: readonly Point[], triangles: readonly [number, number, number][],
  out: Float32Array, width: number, height: number,
): void {
  const { data, channels: ch } = template;
  const stride = template.width * ch;
  const c1 = ch === 1 ? 0 : 1;
  const c2 = ch === 1 ? 0 : 2;
  for (const [i, j, k] of triangles) {
    const [p0, p1, p2] = [target[i], target[j], target[k]];
    const det = (p1!.y - p2!.y) * (p0!.x - p2!.x) + (p2!.x - p1!.x) * (p0!.y - p2!.y);
    if (Math.abs(det) < 1e-9) continue;
    const [q0, q1, q2] = [templatePoints[i], templatePoints[j], templatePoints[k]];
    const x0 = Math.max(0, Math.floor(Math.min(p0!.x, p1!.x, p2!.x)));
    const x1 = Math.min(width - 1, Math.ceil(Math.max(p0!.x, p1!.x, p2!.x)));
    const y0 = Math.max(0, Math.floor(Math.min(p0!.y, p1!.y, p2!.y)));
    const y1 = Math.min(height - 1, Math.ceil(Math.max(p0!.y, p1!.y, p2!.y)));
    for (let v = y0; v <= y1; v++) {
      for (let u = x0; u <= x1; u++) {
        const px = u + 0.5;
        const py = v + 0.5;
        const l0 = ((p1!.y - p2!.y) * (px - p2!.x) + (p2!.x - p1!.x) * (py - p2!.y)) / det;
        const l1 = ((p2!.y - p0!.y) * (px - p2!.x) + (p0!.x - p2!.x) * (py - p2!.y)) / det;
        const l2 = 1 - l0 - l1;
        if (l0 < -1e-6 || l1 < -1e-6 || l2 < -1e-6) continue;
        // Template position in pixel-index space (pixel centres at integers), clamped inside.
        const x = Math.min(template.width - 1.001, Math.max(0, l0 * q0!.x + l1 * q1!.x + l2 * q2!.x - 0.5));
        const y = Math.min(template.height - 1.001, Math.max(0, l0 * q0!.y + l1 * q1!.y + l2 * q2!.y - 0.5));
        const xi = Math.floor(x);
        const yi = Math.floor(y);
        const fx = x - xi;
        const fy = y - yi;
        const p = yi * stride + xi * ch;
        const q = p + stride;
        const w00 = (1 - fx) * (1 - fy);
        const w10 = fx * (1 - fy);
        const w01 = (1 - fx) * fy;
        const w11 = fx * fy;
        const o = (v * width + u) * 3;
        out[o] = w00 * data[p]! + w10 * data[p + ch]! + w01 * data[q]! + w11 * data[q + ch]!;
        out[o + 1] = w00 * data[p + c1]! + w10 * data[p + ch + c1]! + w01 * data[q + c1]! + w11 * data[q + ch + c1]!;
        out[o + 2] = w00 * data[p + c2]! + w10 * data[p + ch + c2]! + w01 * data[q + c2]! + w11 * data[q + ch + c2]!;
      }
    }
  }
}

// Delaunay triangulation (Bowyer-Watson): each point is inserted by removing the triangles whose
// circumcircle holds it and joining the hole's rim to it. O(n²), a few ms for FaceMesh's 468 points.
import type { Point } from '../face/types.ts';

interface Triangle {
  v: [number, number, number];
  cx: number;
  cy: number;
  r2: number;
}

function circumcircle(points: readonly Point[], a: number, b: number, c: number): Triangle | undefined {
  const [p, q, r] = [points[a], points[b], points[c]];
  const d = 2 * (p!.x * (q!.y - r!.y) + q!.x * (r!.y - p!.y) + r!.x * (p!.y - q!.y));
  if (Math.abs(d) < 1e-12) return undefined;
  const pp = p!.x * p!.x + p!.y * p!.y;
  const qq = q!.x * q!.x + q!.y * q!.y;
  const rr = r!.x * r!.x + r!.y * r!.y;
  const cx = (pp * (q!.y - r!.y) + qq * (r!.y - p!.y) + rr * (p!.y - q!.y)) / d;
  const cy = (pp * (r!.x - q!.x) + qq * (p!.x - r!.x) + rr * (q!.x - p!.x)) / d;
  return { v: [a, b, c], cx, cy, r2: (p!.x - cx) ** 2 + (p!.y - cy) ** 2 };
}

/** Triangles as index triples into `points`; points that repeat an earlier one are left out. */
export function delaunay(points: readonly Point[]): [number, number, number][] {
  if (points.length < 3) return [];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(maxX - minX, maxY - minY, 1) * 20;
  const n = points.length;
  // A triangle around everything, removed at the end.
  const all: Point[] = [...points, { x: minX - span, y: minY - span }, { x: maxX + span * 2, y: minY - span }, { x: minX - span, y: maxY + span * 2 }];
  let triangles = [circumcircle(all, n, n + 1, n + 2)!];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const key = `${points[i]!.x},${points[i]!.y}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { x, y } = points[i]!;
    const bad = triangles.filter((t) => (x - t.cx) ** 2 + (y - t.cy) ** 2 < t.r2 * (1 + 1e-12));
    const edges = new Map<string, [number, number]>();
    for (const t of bad) {
      for (const [a, b] of [[t.v[0], t.v[1]], [t.v[1], t.v[2]], [t.v[2], t.v[0]]] as const) {
        const k = a < b ? `${a},${b}` : `${b},${a}`;
        if (edges.has(k)) edges.delete(k);
        else edges.set(k, [a, b]);
      }
    }
    const badSet = new Set(bad);
    triangles = triangles.filter((t) => !badSet.has(t));
    for (const [a, b] of edges.values()) {
      const t = circumcircle(all, a, b, i);
      if (t) triangles.push(t);
    }
  }
  return triangles.filter((t) => t.v.every((v) => v < n)).map((t) => t.v);
}

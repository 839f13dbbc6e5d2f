import { describe, expect, it } from 'vitest';
import { delaunay } from '../../models/post/delaunay.ts';
import { Rng } from '../../runtime/rng.ts';

describe('delaunay', () => {
  it('triangulates random points with empty circumcircles, covering their hull once', () => {
    const rng = new Rng(3);
    const points = Array.from({ length: 200 }, () => ({ x: rng.range(0, 100), y: rng.range(0, 50) }));
    const tris = delaunay(points);
    // Euler: a triangulation of n points with h on the hull has 2n - 2 - h triangles.
    const cross = (o: { x: number; y: number }, a: { x: number; y: number }, b: { x: number; y: number }) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    const sorted = [...points].sort((p, q) => p.x - q.x || p.y - q.y);
    const half = (pts: typeof points) => pts.reduce<typeof points>((h, p) => {
      while (h.length >= 2 && cross(h[h.length - 2]!, h[h.length - 1]!, p) <= 0) h.pop();
      return [...h, p];
    }, []);
    const hull = half(sorted).length + half([...sorted].reverse()).length - 2;
    expect(tris).toHaveLength(2 * points.length - 2 - hull);
    for (const [a, b, c] of tris) {
      const [p, q, r] = [points[a], points[b], points[c]];
      const d = 2 * (p!.x * (q!.y - r!.y) + q!.x * (r!.y - p!.y) + r!.x * (p!.y - q!.y));
      const cx = ((p!.x ** 2 + p!.y ** 2) * (q!.y - r!.y) + (q!.x ** 2 + q!.y ** 2) * (r!.y - p!.y) + (r!.x ** 2 + r!.y ** 2) * (p!.y - q!.y)) / d;
      const cy = ((p!.x ** 2 + p!.y ** 2) * (r!.x - q!.x) + (q!.x ** 2 + q!.y ** 2) * (p!.x - r!.x) + (r!.x ** 2 + r!.y ** 2) * (q!.x - p!.x)) / d;
      const r2 = (p!.x - cx) ** 2 + (p!.y - cy) ** 2;
      for (const [i, s] of points.entries()) {
        if (i === a || i === b || i === c) continue;
        expect((s.x - cx) ** 2 + (s.y - cy) ** 2).toBeGreaterThan(r2 * (1 - 1e-9));
      }
    }
  });

  it('skips repeated points and needs three', () => {
    expect(delaunay([{ x: 0, y: 0 }, { x: 1, y: 0 }])).toEqual([]);
    const square = [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 0, y: 1 }, { x: 1, y: 1 }, { x: 1, y: 1 }];
    expect(delaunay(square)).toHaveLength(2);
  });
});

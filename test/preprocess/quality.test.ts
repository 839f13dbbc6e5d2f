import { describe, expect, it } from 'vitest';
import type { Point } from '../../models/face/types.ts';
import { FACEMESH_NOSE_HEIGHT, STANDARD_FACE_5 } from '../../models/preprocess/align.ts';
import { combinedScore, dot, frontalScore, laplacianVariance, meanDescriptor, selectFaces, type Candidate, type SelectionRules } from '../../models/preprocess/quality.ts';

const face = (noseAlong = 0.5, noseDown = FACEMESH_NOSE_HEIGHT) => {
  const [le, re, , lm, rm] = STANDARD_FACE_5.map((p) => ({ x: p.x * 200, y: p.y * 200 })) as [Point, Point, Point, Point, Point];
  return [le, re, { x: le.x + noseAlong * (re.x - le.x), y: le.y + noseDown * (lm.y - le.y) }, lm, rm];
};

describe('quality scores', () => {
  it('sharpness: zero on flat grey, high on fine detail, lower once blurred', () => {
    const n = 32;
    const flat = new Uint8Array(n * n).fill(120);
    const checker = Uint8Array.from({ length: n * n }, (_, i) => (((i % n) + Math.floor(i / n)) % 2 ? 200 : 40));
    const soft = Uint8Array.from({ length: n * n }, (_, i) => (((i % n) >> 2) % 2 ? 140 : 100));
    expect(laplacianVariance(flat, n, n)).toBe(0);
    expect(laplacianVariance(checker, n, n)).toBeGreaterThan(100 * laplacianVariance(soft, n, n));
    expect(laplacianVariance(soft, n, n)).toBeGreaterThan(0);
  });

  it('frontal: 1 facing the camera, falling as the nose slides towards an eye or the head nods', () => {
    expect(frontalScore(face())).toBeCloseTo(1, 3);
    expect(frontalScore(face(0.35))).toBeCloseTo(0.7, 3);
    expect(frontalScore(face(0.65))).toBeCloseTo(0.7, 3);
    expect(frontalScore(face(0.02))).toBeLessThan(0.05);
    expect(frontalScore(face(0.5, FACEMESH_NOSE_HEIGHT - 0.2))).toBeCloseTo(0.6, 3);
    // The roll of the face does not matter.
    const c = Math.cos(0.5);
    const s = Math.sin(0.5);
    expect(frontalScore(face(0.35).map((p) => ({ x: c * p!.x - s * p!.y, y: s * p!.x + c * p!.y })))).toBeCloseTo(0.7, 3);
  });

  it('mean descriptor is unit length; similarity is the dot product', () => {
    const a = Float32Array.from([1, 0, 0]);
    const b = Float32Array.from([0, 1, 0]);
    const m = meanDescriptor([a, b]);
    expect(dot(m, m)).toBeCloseTo(1, 6);
    expect(dot(a, m)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(() => meanDescriptor([])).toThrow(/no descriptors/);
  });
});

describe('selection', () => {
  const rules: SelectionRules = { minFaceSize: 64, minSharpness: 20, minFrontal: 0.3, minConfidence: 0.5, minSimilarity: 0.5, maxImages: 2 };
  const good = { sharpness: 200, frontal: 0.9, confidence: 0.9, similarity: 0.8 };
  const c = (faceSize: number, q: Partial<typeof good> = {}): Candidate => ({ faceSize, quality: { ...good, ...q } });

  it('drops each unusable face with its reason, ranks the rest, keeps the best N', () => {
    const v = selectFaces(
      [c(50), c(200, { confidence: 0.3 }), c(200, { sharpness: 5 }), c(200, { frontal: 0.1 }), c(200, { similarity: 0.2 }), c(200, { frontal: 0.6 }), c(200), c(200, { frontal: 0.5 })],
      rules,
    );
    const reasons = v.map((x) => ('reason' in x ? x.reason : `rank ${x.rank}`));
    expect(reasons).toEqual([
      'face too small (50 px, needs 64)',
      'low detection confidence (0.30, needs 0.5)',
      'blurry (sharpness 5, needs 20)',
      'head turned too far (frontal 0.10, needs 0.3)',
      'looks like a different person (similarity 0.20, needs 0.5)',
      'rank 1',
      'rank 0',
      'not among the best 2',
    ]);
    expect(v[6]!.score).toBeCloseTo(combinedScore(good), 9);
    expect(combinedScore(good)).toBeCloseTo(0.8 * 0.9 * 0.9 * (1 - Math.exp(-2)), 9);
  });
});

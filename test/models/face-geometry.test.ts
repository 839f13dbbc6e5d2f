import { describe, expect, it } from 'vitest';
import { alignTransform, TEMPLATE_112 } from '../../models/face/align.ts';
import { BLAZEFACE_INPUT, blazefaceAnchors, decodeBlazeface, weightedNms, type Detection } from '../../models/face/blazeface-decode.ts';
import { applyAffine, boundingBox, estimateSimilarity, invertAffine, iou, lineAngle, squareToCrop, type Affine } from '../../models/face/geometry.ts';
import { landmarks5FromMesh, MESH_POINTS, squareAroundMesh } from '../../models/face/mesh-points.ts';
import type { Landmarks5, Point } from '../../models/face/types.ts';
import { warpAffine } from '../../models/face/warp.ts';

const close = (a: Point, b: Point, digits = 6) => {
  expect(a.x).toBeCloseTo(b.x, digits);
  expect(a.y).toBeCloseTo(b.y, digits);
};

describe('affine maps', () => {
  it('inverts and composes', () => {
    const m: Affine = [1.2, -0.4, 10, 0.3, 0.9, -5];
    const p = { x: 17, y: -3 };
    close(applyAffine(invertAffine(m), applyAffine(m, p)), p);
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/singular/);
  });

  it('squareToCrop puts the centre mid-crop and undoes the rotation', () => {
    const angle = (25 * Math.PI) / 180;
    const roi = { center: { x: 300, y: 200 }, size: 100, angle };
    const m = squareToCrop(roi, 192);
    close(applyAffine(m, roi.center), { x: 96, y: 96 });
    // A point 50 px along the tilted eye line lands 96 px right of the crop centre.
    const along = { x: 300 + 50 * Math.cos(angle), y: 200 + 50 * Math.sin(angle) };
    close(applyAffine(m, along), { x: 192, y: 96 });
    expect(lineAngle(roi.center, along)).toBeCloseTo(angle, 10);
  });

  it('estimateSimilarity recovers a known rotation, scale and shift', () => {
    const truth: Affine = [0.8 * Math.cos(0.3), -0.8 * Math.sin(0.3), 12, 0.8 * Math.sin(0.3), 0.8 * Math.cos(0.3), -7];
    const src = [{ x: 0, y: 0 }, { x: 10, y: 2 }, { x: 3, y: 9 }, { x: -4, y: 5 }];
    const fit = estimateSimilarity(src, src.map((p) => applyAffine(truth, p)));
    fit.forEach((v, k) => expect(v).toBeCloseTo(truth[k]!, 9));
  });

  it('alignTransform maps template-shaped landmarks onto the template', () => {
    const lm = TEMPLATE_112.map((p) => ({ x: p.x * 2 + 100, y: p.y * 2 + 40 })) as Landmarks5;
    const m = alignTransform(lm, 224);
    lm.forEach((p, k) => close(applyAffine(m, p), { x: TEMPLATE_112[k]!.x * 2, y: TEMPLATE_112[k]!.y * 2 }, 4));
    // zoom 0.5 halves the face around the crop centre
    const half = alignTransform(lm, 224, 0.5);
    close(applyAffine(half, lm[0]), { x: 112 + (TEMPLATE_112[0]!.x - 56), y: 112 + (TEMPLATE_112[0]!.y - 56) }, 4);
  });

  it('boxes: bounding box and IoU', () => {
    expect(boundingBox([{ x: 3, y: 4 }, { x: -1, y: 10 }, { x: 2, y: 2 }])).toEqual({ x: -1, y: 2, width: 4, height: 8 });
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 })).toBeCloseTo(50 / 150, 10);
    expect(iou({ x: 0, y: 0, width: 1, height: 1 }, { x: 2, y: 2, width: 1, height: 1 })).toBe(0);
  });
});

describe('warpAffine', () => {
  const img = { width: 4, height: 3, channels: 3 as const, data: Uint8Array.from({ length: 36 }, (_, k) => k * 7) };

  it('reproduces pixels under the identity and normalises them', () => {
    const out = warpAffine(img, [1, 0, 0, 0, 1, 0], 4, 3, { scale: 2, offset: -1 });
    expect(Array.from(out)).toEqual(Array.from(img.data, (v) => v * 2 - 1));
  });

  it('averages k x k samples when shrinking, and reads black outside', () => {
    const flat = { width: 4, height: 4, channels: 1 as const, data: Uint8Array.from([0, 100, 0, 100, 0, 100, 0, 100, 0, 100, 0, 100, 0, 100, 0, 100]) };
    const out = warpAffine(flat, [0.5, 0, 0, 0, 0.5, 0], 2, 2, { scale: 1, offset: 0 });
    // Each output pixel covers 2x2 source pixels: two 0s and two 100s.
    for (const v of out) expect(v).toBeCloseTo(50, 4);
    const shifted = warpAffine(img, [1, 0, 10, 0, 1, 0], 2, 2, { scale: 1, offset: 0, grey: true });
    expect(Array.from(shifted)).toEqual([0, 0, 0, 0]);
  });
});

describe('BlazeFace decoding', () => {
  it('has 896 anchors on the 16x16x2 and 8x8x6 grids', () => {
    const a = blazefaceAnchors();
    expect(a).toHaveLength(896);
    expect(a[0]).toEqual({ x: 8, y: 8 });
    expect(a[1]).toEqual({ x: 8, y: 8 });
    expect(a[2]).toEqual({ x: 24, y: 8 });
    expect(a[512]).toEqual({ x: 16, y: 16 });
    expect(a[895]).toEqual({ x: BLAZEFACE_INPUT - 16, y: BLAZEFACE_INPUT - 16 });
  });

  it('decodes offsets relative to anchors and thresholds the sigmoid score', () => {
    const anchors = [{ x: 8, y: 8 }, { x: 100, y: 50 }];
    const logits = Float32Array.from([-3, 2]);
    const regs = new Float32Array(32);
    regs.set([4, -2, 20, 30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 16);
    const [d, ...rest] = decodeBlazeface(logits, regs, anchors, 0.5);
    expect(rest).toHaveLength(0);
    expect(d!.score).toBeCloseTo(1 / (1 + Math.exp(-2)), 10);
    expect(d!.box).toEqual({ x: 94, y: 33, width: 20, height: 30 });
    expect(d!.keypoints[0]).toEqual({ x: 101, y: 52 });
    expect(d!.keypoints[5]).toEqual({ x: 111, y: 62 });
    expect(() => decodeBlazeface(logits, regs.subarray(0, 16), anchors, 0.5)).toThrow();
  });

  it('weighted NMS merges overlapping boxes by score and keeps separate ones', () => {
    const det = (x: number, score: number): Detection => ({ box: { x, y: 0, width: 10, height: 10 }, score, keypoints: [{ x, y: 0 }] });
    const out = weightedNms([det(0, 0.6), det(1, 0.9), det(3, 0.3), det(50, 0.8)], 0.3);
    expect(out).toHaveLength(2);
    expect(out[0]!.score).toBe(0.9);
    expect(out[0]!.box.x).toBeCloseTo((0 * 0.6 + 1 * 0.9 + 3 * 0.3) / 1.8, 10);
    expect(out[1]!.box.x).toBe(50);
  });
});

describe('FaceMesh points', () => {
  // A fake mesh: all points on a 40x60 ellipse-ish cloud, tilted by `angle`, with the named points placed.
  function mesh(angle: number): Point[] {
    const rot = (u: number, v: number) => ({ x: 200 + u * Math.cos(angle) - v * Math.sin(angle), y: 100 + u * Math.sin(angle) + v * Math.cos(angle) });
    const pts = Array.from({ length: MESH_POINTS }, (_, k) => rot(20 * Math.cos(k), 30 * Math.sin(k)));
    pts[33] = rot(-18, -10);
    pts[133] = rot(-6, -10);
    pts[362] = rot(6, -10);
    pts[263] = rot(18, -10);
    pts[1] = rot(0, 5);
    pts[61] = rot(-9, 15);
    pts[291] = rot(9, 15);
    return pts;
  }

  it('takes eye centres, nose tip and mouth corners in image-left/right order', () => {
    const lm = landmarks5FromMesh(mesh(0));
    close(lm[0], { x: 188, y: 90 });
    close(lm[1], { x: 212, y: 90 });
    close(lm[2], { x: 200, y: 105 });
    close(lm[3], { x: 191, y: 115 });
    close(lm[4], { x: 209, y: 115 });
    expect(() => landmarks5FromMesh([])).toThrow(/468/);
  });

  it('frames the next crop along the eye line, 1.5x the upright extent', () => {
    const angle = -0.4;
    const sq = squareAroundMesh(mesh(angle));
    expect(sq.angle).toBeCloseTo(angle, 10);
    close(sq.center, { x: 200, y: 100 }, 1);
    expect(sq.size).toBeCloseTo(60 * 1.5, 0);
  });
});

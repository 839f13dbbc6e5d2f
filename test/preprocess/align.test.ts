import { describe, expect, it } from 'vitest';
import type { Point } from '../../models/face/types.ts';
import { alignmentAngle, leastSquaresMatrix, normalisePoints, rollCorrection, STANDARD_FACE_5 } from '../../models/preprocess/align.ts';
import { Rng } from '../../runtime/rng.ts';

const deg = (r: number) => (r * 180) / Math.PI;
const rad = (d: number) => (d * Math.PI) / 180;

/** The template as a face in a photo: scaled, turned clockwise by `roll` degrees about `pivot`, moved. */
function face(roll: number, scale = 180, offset: Point = { x: 700, y: 420 }, pivot: Point = { x: 0, y: 0 }): Point[] {
  const c = Math.cos(rad(roll));
  const s = Math.sin(rad(roll));
  return STANDARD_FACE_5.map((p) => {
    const x = p.x * scale - pivot.x;
    const y = p.y * scale - pivot.y;
    return { x: c * x - s * y + pivot.x + offset.x, y: s * x + c * y + pivot.y + offset.y };
  });
}

describe('least-squares roll (FaceChain section 3.1)', () => {
  it('normalises to zero mean and unit standard deviation', () => {
    const n = normalisePoints(face(17));
    const xs = n.flatMap((p) => [p.x, p.y]);
    expect(n.reduce((s, p) => s + p.x, 0)).toBeCloseTo(0, 10);
    expect(n.reduce((s, p) => s + p.y, 0)).toBeCloseTo(0, 10);
    expect(xs.reduce((s, v) => s + v * v, 0) / xs.length).toBeCloseTo(1, 10);
  });

  it('fits the exact rotation matrix for a rotated template', () => {
    const [r11, r12, r21, r22] = leastSquaresMatrix(normalisePoints(face(30)), normalisePoints(STANDARD_FACE_5));
    // Undoing a 30-degree clockwise turn is a 30-degree counter-clockwise one.
    expect(r11).toBeCloseTo(Math.cos(rad(30)), 9);
    expect(r12).toBeCloseTo(Math.sin(rad(30)), 9);
    expect(r21).toBeCloseTo(-Math.sin(rad(30)), 9);
    expect(r22).toBeCloseTo(Math.cos(rad(30)), 9);
  });

  it('recovers known rolls within 0.1 degree, whatever the scale, position and pivot', () => {
    for (const roll of [-75, -44.5, -20, -3.3, 0, 0.05, 7, 25, 60, 89]) {
      for (const [scale, offset] of [[40, { x: 5, y: 9 }], [600, { x: 1500, y: -200 }]] as const) {
        const theta = alignmentAngle(face(roll, scale, offset, { x: 321, y: -77 }), STANDARD_FACE_5);
        expect(Math.abs(deg(theta) + roll)).toBeLessThan(0.1);
      }
    }
  });

  it('stays within a degree with 1 px landmark noise on a 150 px face', () => {
    const rng = new Rng(7);
    for (const roll of [-30, 0, 12, 40]) {
      const noisy = face(roll, 150).map((p) => ({ x: p.x + rng.range(-1, 1), y: p.y + rng.range(-1, 1) }));
      expect(Math.abs(deg(alignmentAngle(noisy, STANDARD_FACE_5)) + roll)).toBeLessThan(1);
    }
  });

  it('without the nose, recovers the roll of a turned and nodding head; with it, the fit tilts', () => {
    // A head turned 30 degrees and nodding 15: eyes and mouth corners foreshorten (same plane), the
    // nose tip, standing out of that plane, also slides sideways and down.
    const turned = STANDARD_FACE_5.map((p, i) => ({
      x: 0.5 + (p.x - 0.5) * Math.cos(rad(30)) + (i === 2 ? 0.09 : 0),
      y: 0.5 + (p.y - 0.5) * Math.cos(rad(15)) + (i === 2 ? 0.04 : 0),
    }));
    for (const roll of [-35, 0, 12]) {
      const c = Math.cos(rad(roll));
      const s = Math.sin(rad(roll));
      const photo = turned.map((p) => ({ x: 200 * (c * p.x - s * p.y) + 90, y: 200 * (s * p.x + c * p.y) + 40 }));
      expect(Math.abs(deg(rollCorrection(photo)) + roll)).toBeLessThan(0.1);
      expect(Math.abs(deg(rollCorrection(photo, true)) + roll)).toBeGreaterThan(1);
    }
  });

  it('refuses collinear landmarks', () => {
    expect(() => alignmentAngle([0, 1, 2, 3, 4].map((i) => ({ x: i, y: 2 * i })), STANDARD_FACE_5)).toThrow(/collinear/);
  });
});

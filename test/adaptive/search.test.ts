// The weight search on closed-form score surfaces: grid order, memoisation, refinement inside the
// ranges and above the floor, best = argmax among candidates, and the errors.
import { describe, expect, it } from 'vitest';
import { gridValues, searchWeights } from '../../models/adaptive/search.ts';

/** A smooth bump with its peak at (face, style). */
const bumpAt = (face: number, style: number) => async (f: number, s: number) => 1 - (f - face) ** 2 - (s - style) ** 2;
const bump = bumpAt(0.6, 0.4);

describe('searchWeights', () => {
  it('scores the grid row by row of style, then refines towards the peak inside the ranges', async () => {
    const calls: string[] = [];
    const r = await searchWeights({ face: { min: 0, max: 1, count: 3 }, style: { min: 0, max: 1, count: 3 }, rounds: 3 }, async (f, s) => {
      calls.push(`${f}:${s}`);
      return bump(f, s);
    });
    expect(calls.slice(0, 9)).toEqual(['0:0', '0.5:0', '1:0', '0:0.5', '0.5:0.5', '1:0.5', '0:1', '0.5:1', '1:1']);
    expect(new Set(calls).size).toBe(calls.length);
    for (const p of r.pairs) {
      expect(p.face).toBeGreaterThanOrEqual(0);
      expect(p.face).toBeLessThanOrEqual(1);
      expect(p.style).toBeGreaterThanOrEqual(0);
      expect(p.style).toBeLessThanOrEqual(1);
    }
    // Grid best (0.5, 0.5); round 1 (step 0.25) finds nothing better, round 2 (0.125) moves to (0.625, 0.5)
    // and (0.5, 0.375); round 3 ends at (0.625, 0.4375) or better.
    expect(r.best.score).toBe(Math.max(...r.pairs.map((p) => p.score!)));
    expect(Math.hypot(r.best.face - 0.6, r.best.style - 0.4)).toBeLessThan(0.08);
    expect(r.pairs.length).toBe(calls.length);
  });

  it('memoises pairs and keeps the first of equal scores', async () => {
    let n = 0;
    const r = await searchWeights({ face: { min: 0, max: 1, count: 2 }, style: { min: 1, max: 1, count: 1 }, rounds: 4 }, async () => (n++, 0.5));
    // The grid (0, 1), (1, 1); each round's neighbours of (0, 1) on the face axis inside [0, 1], style fixed.
    expect(r.pairs.map((p) => p.face)).toEqual([0, 1, 0.5, 0.25, 0.125, 0.0625]);
    expect(n).toBe(r.pairs.length);
    expect(r.best).toEqual({ face: 0, style: 1, score: 0.5 });
  });

  it('scores pairs below the style floor but never returns them, nor refines below it', async () => {
    const r = await searchWeights({ face: { min: 0, max: 1, count: 3 }, style: { min: 0, max: 1, count: 3 }, rounds: 2, minStyle: 0.5 }, bumpAt(0.6, 0.1));
    expect(r.pairs.some((p) => p.style < 0.5)).toBe(true);
    expect(r.pairs.slice(9).every((p) => p.style >= 0.5)).toBe(true);
    expect(r.best.style).toBeGreaterThanOrEqual(0.5);
    expect(r.best.score).toBe(Math.max(...r.pairs.filter((p) => p.style >= 0.5).map((p) => p.score!)));
    // The unconstrained peak is below the floor, and scored higher.
    expect(Math.max(...r.pairs.map((p) => p.score!))).toBeGreaterThan(r.best.score!);
  });

  it('skips pairs without a score and names the cause when none is left', async () => {
    const r = await searchWeights({ face: { min: 0, max: 1, count: 3 }, style: { min: 0, max: 0, count: 1 } }, async (f, s) => (f === 0.5 ? undefined : bump(f, s)));
    expect(r.pairs.map((p) => p.score === undefined)).toEqual([false, true, false]);
    expect(r.best.face).toBe(1);
    await expect(searchWeights({ face: { min: 0, max: 1, count: 2 }, style: { min: 0, max: 0, count: 1 } }, async () => undefined)).rejects.toThrow(
      /^none of the 2 weight pairs gave an image with a usable face/,
    );
    await expect(searchWeights({ face: { min: 0, max: 1, count: 2 }, style: { min: 0, max: 1, count: 2 }, minStyle: 1 }, async (_f, s) => (s < 1 ? 1 : undefined))).rejects.toThrow(
      /^no weight pair with style >= 1 gave an image with a usable face \(some below it did\)/,
    );
  });

  it('spaces grid values evenly, rounded to 4 decimals', () => {
    expect(gridValues({ min: 0.25, max: 1, count: 4 })).toEqual([0.25, 0.5, 0.75, 1]);
    expect(gridValues({ min: 0, max: 1, count: 4 })).toEqual([0, 0.3333, 0.6667, 1]);
    expect(gridValues({ min: 0.3, max: 2, count: 1 })).toEqual([0.3]);
  });
});

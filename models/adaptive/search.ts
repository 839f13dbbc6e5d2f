// Searching the face/style LoRA weight pair that maximises an identity score: a grid, then rounds that
// look at the best pair's four neighbours at half the previous step. Scores are memoised per pair.
// `minStyle` is a floor on the style weight: pairs below it are scored (the surface shows what the
// floor costs) but never chosen, and refinement does not go below it.
import { z } from 'zod';

const RangeSchema = z.object({ min: z.number(), max: z.number(), count: z.int().min(1).max(16) });

export const WeightSearchSchema = z.object({
  face: RangeSchema,
  style: RangeSchema,
  /** Refinement rounds around the best pair (each adds up to four pairs inside the ranges). */
  rounds: z.int().min(0).max(8).default(0),
  /** Pairs with a lower style weight are not candidates. */
  minStyle: z.number().default(-Infinity),
});
export type WeightSearch = z.input<typeof WeightSearchSchema>;

export interface ScoredPair {
  face: number;
  style: number;
  /** Undefined when the result had no usable face. */
  score: number | undefined;
}

export interface SearchResult {
  best: ScoredPair;
  /** Every pair scored, in the order it was scored (grid first, row by row of style). */
  pairs: ScoredPair[];
  minStyle: number;
}

/** Evenly spaced values from min to max (min alone when count is 1). */
export function gridValues(range: z.infer<typeof RangeSchema>): number[] {
  if (range.count === 1) return [round(range.min)];
  return Array.from({ length: range.count }, (_, i) => round(range.min + ((range.max - range.min) * i) / (range.count - 1)));
}

/** Weights shown to the user and used as keys: 4 decimals is finer than any visible difference. */
const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** Whether `a` should replace `best`: a scored candidate above the floor with a higher score. */
export const isBetter = (a: ScoredPair, best: ScoredPair | undefined, minStyle: number) =>
  a.score !== undefined && a.style >= minStyle && (best?.score === undefined || a.score > best.score);

const inside = (v: number, r: { min: number; max: number }) => v >= Math.min(r.min, r.max) && v <= Math.max(r.min, r.max);

/**
 * Scores the grid, then refines. `onPair` is called after each new pair with the best candidate so
 * far (`total` is an upper bound: refinement skips pairs outside the ranges or already scored). Throws when no candidate had a usable face, saying whether any pair had one.
 */
export async function searchWeights(
  spec: WeightSearch,
  score: (face: number, style: number) => Promise<number | undefined>,
  onPair?: (pair: ScoredPair, progress: { done: number; total: number; best: ScoredPair | undefined; pairs: readonly ScoredPair[] }) => void | Promise<void>,
): Promise<SearchResult> {
  const s = WeightSearchSchema.parse(spec);
  const faceValues = gridValues(s.face);
  const styleValues = gridValues(s.style);
  const total = faceValues.length * styleValues.length + 4 * s.rounds;
  const pairs: ScoredPair[] = [];
  const seen = new Map<string, ScoredPair>();
  let best: ScoredPair | undefined;
  const visit = async (face: number, style: number) => {
    const key = `${round(face)}:${round(style)}`;
    if (seen.has(key)) return;
    const pair: ScoredPair = { face: round(face), style: round(style), score: await score(round(face), round(style)) };
    seen.set(key, pair);
    pairs.push(pair);
    if (isBetter(pair, best, s.minStyle)) best = pair;
    await onPair?.(pair, { done: pairs.length, total, best, pairs });
  };
  for (const style of styleValues) for (const face of faceValues) await visit(face, style);
  const step = (v: number[]) => (v.length > 1 ? Math.abs(v[1]! - v[0]!) : 0);
  let [faceStep, styleStep] = [step(faceValues), step(styleValues)];
  for (let r = 0; r < s.rounds && best && (faceStep > 0 || styleStep > 0); r++) {
    faceStep /= 2;
    styleStep /= 2;
    const centre: ScoredPair = best;
    const around: [number, number][] = [
      [centre.face - faceStep, centre.style], [centre.face + faceStep, centre.style],
      [centre.face, centre.style - styleStep], [centre.face, centre.style + styleStep],
    ];
    for (const [face, style] of around) {
      if (inside(face, s.face) && inside(style, s.style) && style >= s.minStyle) await visit(face, style);
    }
  }
  if (!best) {
    const anyFace = pairs.some((p) => p.score !== undefined);
    throw new Error(
      anyFace
        ? `no weight pair with style >= ${s.minStyle} gave an image with a usable face (some below it did); lower minStyle or widen the style range`
        : `none of the ${pairs.length} weight pairs gave an image with a usable face; check the prompt, the start image or the strength`,
    );
  }
  return { best, pairs, minStyle: s.minStyle };
}

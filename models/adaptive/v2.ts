// Adaptive v2 as the node runs it: a (face, style) weight grid through successive halving (halving.ts)
// on consecutive seeds, then optionally a coordinate search over the face LoRA's IN/MID/OUT block groups.
// The Pareto front and the final choice use only candidates scored on every seed: a mean over one seed
// is not comparable with one over nine. Every (candidate, seed) becomes a row of a sweep results table.
import type { SweepTable } from '../../protocol/sweep-results.ts';
import { at, summarise } from '../../protocol/index.ts';
import { BLOCK_IDS, BLOCK_IDS_17, type BlockWeights } from '../lora/blocks.ts';
import { blockVector, coordinateSearch, Evaluator, paretoFront, rank, successiveHalving, type BlockGroups, type Candidate, type Evaluate, type Evaluation } from './halving.ts';
import { gridValues } from './search.ts';

export interface WeightPoint extends BlockGroups {
  face: number;
  style: number;
}

export interface V2Spec {
  face: { min: number; max: number; count: number };
  style: { min: number; max: number; count: number };
  seeds: readonly number[];
  eta: number;
  styleFloor: number;
  /** Coordinate search over the face LoRA's block groups after halving. */
  blockGroups: boolean;
}

export interface V2Result {
  best: Candidate<WeightPoint>;
  /** Candidates scored on every seed that no other such candidate beats on both mean identity and mean style. */
  front: Candidate<WeightPoint>[];
  /** Every candidate over the seeds it had, in the order first evaluated. */
  candidates: Candidate<WeightPoint>[];
  evaluations: Evaluation<WeightPoint>[];
}

export const pointKey = (p: WeightPoint) => `${p.face}:${p.style}:${p.IN}:${p.MID}:${p.OUT}`;

/** Block weights for the face LoRA: the 17 LBW attention blocks by group, all other blocks 1; undefined when every group is 1. */
export function groupBlocks(p: BlockGroups): BlockWeights | undefined {
  if (p.IN === 1 && p.MID === 1 && p.OUT === 1) return undefined;
  const vector = blockVector(p).split(', ').map(Number);
  return { ...Object.fromEntries(BLOCK_IDS.map((id) => [id, 1])), ...Object.fromEntries(BLOCK_IDS_17.map((id, i) => [id, at(vector, i)])) };
}

/** Group weights the coordinate search tries in place of the current one (1 = unchanged). */
const GROUP_VALUES = [0, 0.5, 1];
const groupVariants = (g: keyof BlockGroups) => (p: WeightPoint) => GROUP_VALUES.filter((v) => v !== p[g]).map((v) => ({ ...p, [g]: v }));

/** Each point's candidate over all its evaluations (seeds are always a prefix of the list, so this is its latest). */
export function candidatesOf(evaluations: readonly Evaluation<WeightPoint>[]): Candidate<WeightPoint>[] {
  const byKey = new Map<string, Evaluation<WeightPoint>[]>();
  for (const e of evaluations) byKey.set(pointKey(e.point), [...(byKey.get(pointKey(e.point)) ?? []), e]);
  return [...byKey.values()].map((es) => ({
    point: es[0]!.point,
    n: es.length,
    identity: summarise(es.map((e) => e.identity ?? Number.NaN)),
    style: summarise(es.map((e) => e.style)),
  }));
}

export async function searchWeightsV2(
  spec: V2Spec,
  evaluate: Evaluate<WeightPoint>,
  onEvaluation?: (e: Evaluation<WeightPoint>) => void | Promise<void>,
): Promise<V2Result> {
  const points = gridValues(spec.style).flatMap((style) => gridValues(spec.face).map((face) => ({ face, style, IN: 1, MID: 1, OUT: 1 })));
  const evaluator = new Evaluator(pointKey, evaluate, onEvaluation);
  const options = { seeds: spec.seeds, eta: spec.eta, styleFloor: spec.styleFloor };
  const halving = await successiveHalving(points, evaluator, options);
  if (spec.blockGroups) await coordinateSearch(halving.best, (['IN', 'MID', 'OUT'] as const).map(groupVariants), evaluator, options);
  const candidates = candidatesOf(evaluator.evaluations);
  const full = candidates.filter((c) => c.n === spec.seeds.length);
  const best = rank(full, spec.styleFloor)[0]!;
  if (!best.identity) {
    throw new Error(`no candidate scored on all ${spec.seeds.length} seeds gave an image with a usable face; check the prompt, the start image or the strength`);
  }
  return { best: best, front: paretoFront(full), candidates, evaluations: evaluator.evaluations };
}

const LABELS = ['face', 'style', 'IN', 'MID', 'OUT'];

/** The evaluations as a sweep results table (protocol/sweep-results.ts): one row per (candidate, seed), `at` the candidate's index. */
export function resultsTable(name: string, result: V2Result, ms: readonly number[]): SweepTable {
  const keys = result.candidates.map((c) => pointKey(c.point));
  const values = (p: WeightPoint) => [p.face, p.style, p.IN, p.MID, p.OUT];
  return {
    format: 'facechain-sweep',
    name,
    labels: LABELS,
    axisValues: LABELS.map((_, i) => [...new Set(result.candidates.map((c) => at(values(c.point), i)))]),
    rows: result.evaluations.map((e, i) => ({
      key: pointKey(e.point),
      at: [keys.indexOf(pointKey(e.point)), 0, 0],
      values: values(e.point),
      sample: i,
      seed: e.seed,
      scores: { identity: e.identity ?? null, style: e.style },
      ms: ms[i] ?? 0,
    })),
  };
}

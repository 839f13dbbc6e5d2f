// Adaptive LoRA weights v2: successive halving with multi-seed evaluation. Every candidate is scored on
// one seed, the best 1/eta go on to eta times the seeds, and so on until one is left or the seeds run
// out, so the budget goes to the candidates that might win and the winner's score is a mean over many
// seeds, not one noisy draw. The objective is identity subject to a style floor: candidates whose mean
// style score reaches the floor rank above those that do not, by mean identity; the others by style.
// Scores are memoised per (candidate, seed), so the same seeds give the same answer.
import { summarise, type Summary } from '../../protocol/index.ts';

export interface Scores {
  /** Undefined when the result had no usable face. */
  identity: number | undefined;
  style: number;
}

export interface Evaluation<P> extends Scores {
  point: P;
  seed: number;
  /** Round of successive halving (0 = every candidate on one seed), or -1 for a coordinate-search step. */
  round: number;
}

export interface Candidate<P> {
  point: P;
  /** Seeds it was scored on. */
  n: number;
  identity: Summary | undefined;
  style: Summary | undefined;
}

export interface HalvingOptions {
  seeds: readonly number[];
  /** Keep the best 1/eta each round, and give them eta times the seeds. */
  eta?: number;
  /** Mean style score a candidate must reach to be chosen. */
  styleFloor?: number;
}

export interface HalvingResult<P> {
  best: Candidate<P>;
  /** Candidates of the last round and the others, best first by the rule above. */
  ranked: Candidate<P>[];
  /** Candidates no other beats on both mean identity and mean style (each over the seeds it had). */
  front: Candidate<P>[];
  evaluations: Evaluation<P>[];
}

export type Evaluate<P> = (point: P, seed: number) => Promise<Scores>;

/** Memoised evaluation of points on seeds, recording every evaluation in order. */
export class Evaluator<P> {
  readonly evaluations: Evaluation<P>[] = [];
  private memo = new Map<string, Evaluation<P>>();
  constructor(private readonly key: (p: P) => string, private readonly evaluate: Evaluate<P>, private readonly onEvaluation?: (e: Evaluation<P>) => void | Promise<void>) {}

  async candidate(point: P, seeds: readonly number[], round: number): Promise<Candidate<P>> {
    const evals: Evaluation<P>[] = [];
    for (const seed of seeds) {
      const id = `${this.key(point)}|${seed}`;
      let e = this.memo.get(id);
      if (!e) {
        e = { point, seed, round, ...(await this.evaluate(point, seed)) };
        this.memo.set(id, e);
        this.evaluations.push(e);
        await this.onEvaluation?.(e);
      }
      evals.push(e);
    }
    return { point, n: seeds.length, identity: summarise(evals.map((e) => e.identity ?? Number.NaN)), style: summarise(evals.map((e) => e.style)) };
  }
}

/**
 * Best first: candidates at or above the style floor by mean identity (none last), then the rest by style.
 * Ties go to the other score, so the first is never dominated by another of the list (it is on their front).
 */
export function rank<P>(candidates: readonly Candidate<P>[], styleFloor = -Infinity): Candidate<P>[] {
  const style = (c: Candidate<P>) => c.style?.mean ?? -Infinity;
  const identity = (c: Candidate<P>) => c.identity?.mean ?? -Infinity;
  const feasible = (c: Candidate<P>) => style(c) >= styleFloor;
  return [...candidates].sort((a, b) => {
    if (feasible(a) !== feasible(b)) return feasible(a) ? -1 : 1;
    if (!feasible(a)) return style(b) - style(a) || identity(b) - identity(a);
    return identity(b) - identity(a) || style(b) - style(a);
  });
}

/** The non-dominated candidates on (mean identity, mean style), by identity. */
export function paretoFront<P>(candidates: readonly Candidate<P>[]): Candidate<P>[] {
  const scored = candidates.filter((c) => c.identity && c.style);
  const dominated = (a: Candidate<P>) =>
    scored.some((b) => b !== a && b.identity!.mean >= a.identity!.mean && b.style!.mean >= a.style!.mean && (b.identity!.mean > a.identity!.mean || b.style!.mean > a.style!.mean));
  return scored.filter((c) => !dominated(c)).sort((a, b) => b.identity!.mean - a.identity!.mean);
}

export async function successiveHalving<P>(points: readonly P[], evaluator: Evaluator<P>, o: HalvingOptions): Promise<HalvingResult<P>> {
  const eta = o.eta ?? 3;
  if (!points.length || !o.seeds.length) throw new Error('successive halving needs candidates and seeds');
  let alive = [...points];
  const latest = new Map<P, Candidate<P>>();
  for (let round = 0; ; round++) {
    const n = Math.min(o.seeds.length, eta ** round);
    const scored = [];
    for (const p of alive) scored.push(await evaluator.candidate(p, o.seeds.slice(0, n), round));
    for (const c of scored) latest.set(c.point, c);
    const ranked = rank(scored, o.styleFloor);
    if (ranked.length === 1 || n === o.seeds.length) {
      const all = [...ranked, ...rank([...latest.values()].filter((c) => !alive.includes(c.point)), o.styleFloor)];
      return { best: ranked[0]!, ranked: all, front: paretoFront([...latest.values()]), evaluations: evaluator.evaluations };
    }
    alive = ranked.slice(0, Math.max(1, Math.ceil(ranked.length / eta))).map((c) => c.point);
  }
}

/** Evaluations successive halving makes for `count` candidates and `seeds` seeds (for budgets). */
export function halvingBudget(count: number, seeds: number, eta = 3): number {
  let total = 0;
  for (let round = 0, alive = count; ; round++) {
    const n = Math.min(seeds, eta ** round);
    total += alive * (n - (round ? Math.min(seeds, eta ** (round - 1)) : 0));
    if (alive === 1 || n === seeds) return total;
    alive = Math.max(1, Math.ceil(alive / eta));
  }
}

/**
 * Coordinate search after halving: for each coordinate (e.g. the face LoRA's IN, MID and OUT block
 * groups) in turn, the current best's variants along it are scored on all seeds and the best kept.
 */
export async function coordinateSearch<P>(
  start: Candidate<P>,
  coordinates: readonly ((p: P) => P[])[],
  evaluator: Evaluator<P>,
  o: HalvingOptions,
): Promise<Candidate<P>> {
  let best = start.n === o.seeds.length ? start : await evaluator.candidate(start.point, o.seeds, -1);
  for (const variants of coordinates) {
    const tried = [best];
    for (const p of variants(best.point)) tried.push(await evaluator.candidate(p, o.seeds, -1));
    best = rank(tried, o.styleFloor)[0]!;
  }
  return best;
}

/** LoRA Block Weight groups of SD1.5's 17 attention blocks: BASE, IN01-IN08 (6), M00, OUT03-OUT11 (9). */
export interface BlockGroups {
  IN: number;
  MID: number;
  OUT: number;
}

/** The 17-value block-weight vector for group weights (BASE, the text encoder, stays 1). */
export const blockVector = (g: BlockGroups) => [1, ...Array(6).fill(g.IN), g.MID, ...Array(9).fill(g.OUT)].join(', ');

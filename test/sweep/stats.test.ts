// Mean, standard error and Student-t 95 % interval; the score plot draws them as error bars.
import { describe, expect, it } from 'vitest';
import { summarise } from '../../protocol/index.ts';
import { scorePlotSvg } from '../../runtime/sweep/plot.ts';

describe('sweep statistics', () => {
  it('summarises samples with a t interval, leaving NaN (no score) out', () => {
    const s = summarise([1, 2, 3, Number.NaN])!;
    expect(s.n).toBe(3);
    expect(s.mean).toBe(2);
    expect(s.se).toBeCloseTo(1 / Math.sqrt(3), 12);
    expect(s.high - s.mean).toBeCloseTo(4.303 / Math.sqrt(3), 12);
    expect(summarise([0.5])).toEqual({ n: 1, mean: 0.5, se: 0, low: 0.5, high: 0.5 });
    expect(summarise([Number.NaN])).toBeUndefined();
    // Many samples: the normal quantile.
    const many = summarise(Array.from({ length: 40 }, (_, i) => i % 2))!;
    expect(many.high - many.mean).toBeCloseTo(1.96 * many.se, 12);
  });

  it('draws an error bar per cell with several seeds, none for one seed', () => {
    const cell = (x: number, samples: number[]) => ({ at: [x, 0, 0] as [number, number, number], values: [x], scores: { 'score.style': summarise(samples) } });
    const bars = (svg: string) => (svg.match(/stroke-width="1.5"/g) ?? []).length;
    expect(bars(scorePlotSvg(['w'], [[0, 1]], [cell(0, [0.1, 0.2, 0.3]), cell(1, [0.4, 0.5])], ['score.style']))).toBe(2 * 3);
    expect(bars(scorePlotSvg(['w'], [[0, 1]], [cell(0, [0.1]), cell(1, [0.4])], ['score.style']))).toBe(0);
  });
});

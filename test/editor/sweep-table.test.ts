// The editor's sweep table: rows folded from sweep.cell events, sorted by any column.
import { describe, expect, it } from 'vitest';
import { sortRows, tableColumns, type SweepRow } from '../../protocol/index.ts';

const row = (cfg: number, prompt: string, identity: number | null, seed = 1): SweepRow => ({
  key: `${cfg}-${prompt}-${seed}`, at: [0, 0, 0], values: [cfg, prompt], sample: 0, seed, scores: { 'id.identity': identity }, ms: 10,
});
const labels = ['cfg', 'prompt'];
const rows = [row(7, 'b', 0.2), row(3, 'a', null), row(5, 'c', 0.9)];

describe('sweep results table', () => {
  it('has the axes, seed, every score and time as columns', () => {
    expect(tableColumns(labels, rows)).toEqual(['cfg', 'prompt', 'seed', 'id.identity', 'ms']);
  });
  it('sorts numbers numerically and text alphabetically, empty scores last both ways', () => {
    expect(sortRows(labels, rows, 'cfg').map((r) => r.values[0])).toEqual([3, 5, 7]);
    expect(sortRows(labels, rows, 'cfg', true).map((r) => r.values[0])).toEqual([7, 5, 3]);
    expect(sortRows(labels, rows, 'prompt', true).map((r) => r.values[1])).toEqual(['c', 'b', 'a']);
    expect(sortRows(labels, rows, 'id.identity', true).map((r) => r.scores['id.identity'])).toEqual([0.9, 0.2, null]);
    expect(sortRows(labels, rows, 'id.identity').map((r) => r.scores['id.identity'])).toEqual([0.2, 0.9, null]);
  });
});

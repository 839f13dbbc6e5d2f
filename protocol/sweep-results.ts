// The sweep's results table: one row per cell and seed, saved as JSON and CSV beside the images, and a
// summary per cell (mean, standard error, 95 % interval of every score over the seeds).
import { z } from 'zod';
import { at } from './at.ts';
import { showValue, type AxisValue } from './sweep-spec.ts';
import { summarise, type Summary } from './sweep-stats.ts';

const Value = z.union([z.number(), z.string(), z.boolean(), z.array(z.number())]);

export const SweepRowSchema = z.object({
  key: z.string().describe('hash of the graph this row ran; a re-run finds finished cells by it'),
  at: z.tuple([z.int(), z.int(), z.int()]).describe('index along X, Y, Z'),
  values: z.array(Value).describe('the axis values, X first'),
  sample: z.int(),
  seed: z.number().optional(),
  image: z.string().optional().describe('file name in the sweep folder'),
  scores: z.record(z.string(), z.number().nullable()).describe('"node.port" -> value; null when the node gave none (e.g. no face)'),
  ms: z.number().describe('time the cell took to compute'),
  error: z.string().optional(),
});
export type SweepRow = z.infer<typeof SweepRowSchema>;

export const SweepTableSchema = z.object({
  format: z.literal('facechain-sweep'),
  name: z.string(),
  labels: z.array(z.string()),
  axisValues: z.array(z.array(Value)),
  rows: z.array(SweepRowSchema),
});
export type SweepTable = z.infer<typeof SweepTableSchema>;

export interface CellSummary {
  at: [number, number, number];
  values: AxisValue[];
  scores: Record<string, Summary | undefined>;
}

export const scoreColumns = (rows: SweepRow[]) => [...new Set(rows.flatMap((r) => Object.keys(r.scores)))].sort();

/** Per cell (in X-fastest order): each score's summary over the cell's seeds. */
export function cellSummaries(rows: SweepRow[]): CellSummary[] {
  const byCell = new Map<string, [SweepRow, ...SweepRow[]]>();
  for (const r of rows) {
    const cell = byCell.get(r.at.join(','));
    byCell.set(r.at.join(','), cell ? [...cell, r] : [r]);
  }
  const columns = scoreColumns(rows);
  return [...byCell.values()]
    .sort((a, b) => a[0].at[2] - b[0].at[2] || a[0].at[1] - b[0].at[1] || a[0].at[0] - b[0].at[0])
    .map((cell) => ({
      at: cell[0].at,
      values: cell[0].values,
      scores: Object.fromEntries(columns.map((c) => [c, summarise(cell.map((r) => r.scores[c] ?? Number.NaN))])),
    }));
}

const csvField = (v: unknown) => {
  const s = v === undefined || v === null ? '' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (rows: unknown[][]) => rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';

/** One line per cell and seed: axis values, seed, every score, time, image file. */
export function rowsCsv(table: SweepTable): string {
  const columns = scoreColumns(table.rows);
  return csv([
    [...table.labels, 'seed', ...columns, 'ms', 'image', 'error'],
    ...table.rows.map((r) => [...r.values.map(showValue), r.seed, ...columns.map((c) => r.scores[c]), Math.round(r.ms), r.image, r.error]),
  ]);
}

/** One line per cell: axis values, then n, mean, standard error and 95 % interval of each score. */
export function summaryCsv(table: SweepTable): string {
  const columns = scoreColumns(table.rows);
  return csv([
    [...table.labels, ...columns.flatMap((c) => [`${c} n`, `${c} mean`, `${c} se`, `${c} low95`, `${c} high95`])],
    ...cellSummaries(table.rows).map((s) => [
      ...s.values.map(showValue),
      ...columns.flatMap((c) => {
        const m = s.scores[c];
        return m ? [m.n, m.mean, m.se, m.low, m.high] : [0, '', '', '', ''];
      }),
    ]),
  ]);
}

/** A row as one line of text: `cfg=7 width=64 seed 3: score.identity=0.512 (1.2 s)`. */
export function sweepCellLine(labels: string[], row: SweepRow): string {
  const axes = labels.map((l, i) => `${l}=${showValue(at(row.values, i, 'axis'))}`).join(' ');
  const scores = Object.entries(row.scores).map(([k, v]) => `${k}=${v === null ? '-' : v.toFixed(4)}`).join(' ');
  const seed = row.seed === undefined ? '' : ` seed ${row.seed}`;
  return `${axes}${seed}${scores ? `: ${scores}` : ''} (${(row.ms / 1000).toFixed(1)} s)${row.error ? ` error: ${row.error}` : ''}`;
}

/** Columns of the editor's table: the axes, seed, every score, time. */
export const tableColumns = (labels: string[], rows: SweepRow[]) => [...labels, 'seed', ...scoreColumns(rows), 'ms'];

/** The value a row shows in a column of tableColumns. */
export function cellValue(labels: string[], row: SweepRow, column: string): number | string | undefined {
  const axis = labels.indexOf(column);
  if (axis >= 0) {
    const value = at(row.values, axis, 'axis');
    return typeof value === 'number' ? value : showValue(value);
  }
  if (column === 'seed') return row.seed;
  if (column === 'ms') return Math.round(row.ms);
  return row.scores[column] ?? undefined;
}

/** Rows sorted by a column (numbers numerically, text alphabetically, empty cells last either way). */
export function sortRows(labels: string[], rows: SweepRow[], column: string, descending = false): SweepRow[] {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x, y] = [cellValue(labels, a, column), cellValue(labels, b, column)];
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    return sign * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y)));
  });
}

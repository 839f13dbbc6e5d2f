// What a sweep varies: up to three axes, each one param of one node, with values as a list or a range,
// and optionally N seeds per cell. Framework-free (zod only): the editor reads the same schema.
import { z } from 'zod';

const Id = z.string().min(1).max(100);
const Value = z.union([z.number(), z.string().max(2000), z.boolean(), z.array(z.number()).max(64)]);

const ValuesSchema = z.union([
  z.array(Value).min(1).max(64),
  z.object({ from: z.number(), to: z.number(), count: z.int().min(1).max(64) }).strict(),
  z.object({ from: z.number(), to: z.number(), step: z.number().positive() }).strict(),
]);

export const AxisSchema = z
  .object({
    node: Id.describe('Id of the node whose param the axis sets'),
    param: z.string().min(1).max(100),
    values: ValuesSchema.describe('A list, {from, to, count} (evenly spaced) or {from, to, step}'),
    replace: z
      .boolean()
      .default(false)
      .describe("Prompt S/R (A1111's): the first value is searched in the param's text and each value replaces it"),
    label: z.string().max(100).optional().describe('Axis name drawn on the grid; default node.param'),
  })
  .strict();
export type Axis = z.infer<typeof AxisSchema>;

export const SweepSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'use letters, digits, _ and - only')
      .default('sweep')
      .describe('Folder under output/sweeps/ for the images and tables; re-running a sweep there reuses its finished cells'),
    axes: z.array(AxisSchema).min(1).max(3).describe('X, then Y, then Z'),
    seeds: z
      .object({
        node: Id,
        param: z.string().min(1).max(100).default('seed'),
        count: z.int().min(1).max(32),
      })
      .strict()
      .optional()
      .describe("N seeds per cell: the node's seed, seed + 1, ... seed + N - 1; the table gets mean, standard error and a 95 % interval"),
    image: z
      .object({ node: Id, port: z.string().min(1).max(100) })
      .strict()
      .optional()
      .describe('Output holding the cell image; default: the last node (in run order) with an image output'),
    caption: z
      .array(z.string().max(200))
      .max(2)
      .optional()
      .describe('Scores ("node.port") written under each cell of the grid; default: the first output of the first two score nodes'),
  })
  .strict();
export type SweepSpec = z.infer<typeof SweepSpecSchema>;
export type AxisValue = z.infer<typeof Value>;

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** The axis's values, a range expanded (ends included; a step range stops at `to`). */
export function axisValues(axis: Axis): AxisValue[] {
  const v = axis.values;
  if (Array.isArray(v)) return v;
  if ('count' in v) {
    if (v.count === 1) return [v.from];
    return Array.from({ length: v.count }, (_, i) => round(v.from + ((v.to - v.from) * i) / (v.count - 1)));
  }
  const sign = v.to >= v.from ? 1 : -1;
  const n = Math.floor(Math.abs(v.to - v.from) / v.step + 1e-9) + 1;
  if (n > 64) throw new Error(`${axis.node}.${axis.param}: the range gives ${n} values, at most 64`);
  return Array.from({ length: n }, (_, i) => round(v.from + sign * i * v.step));
}

export const axisLabel = (axis: Axis) => axis.label ?? `${axis.node}.${axis.param}`;

/** A value as the grid and table show it. */
export const showValue = (v: AxisValue) => (Array.isArray(v) ? v.join(' ') : String(v));

export interface Cell {
  /** Index along X, Y, Z (missing axes are 0). */
  at: [number, number, number];
  values: AxisValue[];
}

/** Every combination, X varying fastest (so consecutive cells share as much upstream work as they can). */
export function cellsOf(axes: Axis[]): Cell[] {
  const lists = axes.map(axisValues);
  const [sx, sy, sz] = [0, 1, 2].map((i) => lists[i]?.length ?? 1) as [number, number, number];
  const cells: Cell[] = [];
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        const at: [number, number, number] = [x, y, z];
        cells.push({ at, values: lists.map((l, i) => l[at[i as 0 | 1 | 2]]!) });
      }
  return cells;
}

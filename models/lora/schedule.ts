import { z } from 'zod';

/**
 * A LoRA's weight over the sampling steps, as a multiplier of its weight. Step i of n is active
 * when start <= i/n < end (fractions of the steps); across the active steps the multiplier ramps
 * from `rampFrom` (first active step) to `rampTo` (last), linearly or along a half cosine, or stays 1
 * with ramp 'none'; `values` (one per step, stretched when there are fewer) multiplies on top.
 * Inactive steps get 0.
 */
export const ScheduleSchema = z.object({
  start: z.number().min(0).max(1).default(0).meta({ description: 'First active step, as a fraction of the steps', step: 0.05 }),
  end: z.number().min(0).max(1).default(1).meta({ description: 'Active until this fraction of the steps (exclusive)', step: 0.05 }),
  ramp: z.enum(['none', 'linear', 'cosine']).default('none').meta({ description: 'Ramp across the active steps (none = constant)' }),
  rampFrom: z.number().min(-100).max(100).default(0).meta({ description: 'Ramp multiplier at the first active step', step: 0.05 }),
  rampTo: z.number().min(-100).max(100).default(1).meta({ description: 'Ramp multiplier at the last active step', step: 0.05 }),
  values: z.array(z.number().min(-100).max(100)).max(1000).default([]).meta({ description: 'Multiplier per step (stretched over the steps when fewer); empty = 1' }),
});
export type Schedule = z.infer<typeof ScheduleSchema>;

export const CONSTANT_SCHEDULE: Schedule = ScheduleSchema.parse({});

/** The fields that make the multiplier differ from 1 at some step, as `name=value` (empty when constant). */
export function scheduleChanges(s: Schedule): string[] {
  const out: string[] = [];
  if (s.start !== 0) out.push(`start=${s.start}`);
  if (s.end !== 1) out.push(`end=${s.end}`);
  if (s.ramp !== 'none') out.push(`ramp=${s.ramp} (${s.rampFrom} to ${s.rampTo})`);
  if (s.values.some((v) => v !== 1)) out.push(`values=[${s.values.join(', ')}]`);
  return out;
}

/** True when the schedule is 1 at every step. */
export function isConstant(s: Schedule): boolean {
  return scheduleChanges(s).length === 0;
}

/** The multiplier at step `step` (0-based) of `steps`. */
export function scheduleFactor(s: Schedule, step: number, steps: number): number {
  if (!Number.isInteger(step) || !Number.isInteger(steps) || step < 0 || step >= steps) {
    throw new Error(`step ${step} is not one of ${steps} steps`);
  }
  const active = (i: number) => s.start <= i / steps && i / steps < s.end;
  if (!active(step)) return 0;
  let factor = 1;
  if (s.ramp !== 'none') {
    let first = step;
    while (first > 0 && active(first - 1)) first--;
    let last = step;
    while (last < steps - 1 && active(last + 1)) last++;
    const p = last === first ? 1 : (step - first) / (last - first);
    const shape = s.ramp === 'linear' ? p : (1 - Math.cos(Math.PI * p)) / 2;
    factor = s.rampFrom + (s.rampTo - s.rampFrom) * shape;
  }
  if (s.values.length) factor *= s.values[Math.min(s.values.length - 1, Math.floor((step * s.values.length) / steps))]!;
  return factor;
}

// Learning-rate schedules, with the formulas of diffusers' get_scheduler (a linear warm-up from 0,
// then constant, a half cosine to 0, or `cycles` hard-restarted half cosines to 0).
import { z } from 'zod';

export const LrScheduleSchema = z.object({
  kind: z.enum(['constant', 'cosine', 'cosine_with_restarts']),
  /** Peak learning rate. */
  lr: z.number().positive(),
  /** Optimiser steps in the run. */
  totalSteps: z.int().positive(),
  warmupSteps: z.int().min(0).default(0),
  /** Cosine cycles of cosine_with_restarts (each falls from lr to 0, then restarts). */
  cycles: z.int().positive().default(1),
});
export type LrSchedule = z.infer<typeof LrScheduleSchema>;

/** The learning rate of step `step` (0 for the first optimiser step). */
export function learningRate(schedule: LrSchedule, step: number): number {
  const { lr, totalSteps, warmupSteps, kind } = schedule;
  if (step < warmupSteps) return (lr * step) / warmupSteps;
  if (kind === 'constant') return lr;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  if (progress >= 1) return 0;
  const phase = kind === 'cosine' ? progress : (schedule.cycles * progress) % 1;
  return lr * 0.5 * (1 + Math.cos(Math.PI * phase));
}

import { z } from 'zod';
import { noiseSchedule, type NoiseSchedule } from './noise-schedule.ts';
import { DdimScheduler, LcmScheduler, PndmScheduler } from './alpha-schedulers.ts';
import { DpmPp2mScheduler, EulerAncestralScheduler, EulerScheduler } from './sigma-schedulers.ts';
import type { Scheduler } from './scheduler.ts';

export type { Scheduler } from './scheduler.ts';

/** Scheduler names as users pick them (A1111/ComfyUI naming). */
export const SchedulerNameSchema = z.enum([
  'ddim', 'pndm', 'euler', 'euler_karras', 'euler_a', 'dpmpp_2m', 'dpmpp_2m_karras', 'lcm',
]);
export type SchedulerName = z.infer<typeof SchedulerNameSchema>;

export const SchedulerConfigSchema = z.object({
  name: SchedulerNameSchema,
  steps: z.int().min(1).max(1000),
  /** img2img: share of the schedule that runs (1 = from pure noise). */
  strength: z.number().gt(0).max(1).default(1),
});
export type SchedulerConfig = z.input<typeof SchedulerConfigSchema>;

const SD15 = noiseSchedule();

export function createScheduler(config: SchedulerConfig, schedule: NoiseSchedule = SD15): Scheduler {
  const { name, steps, strength } = SchedulerConfigSchema.parse(config);
  switch (name) {
    case 'ddim': return new DdimScheduler(schedule, steps, strength);
    case 'pndm': return new PndmScheduler(schedule, steps, strength);
    case 'lcm': return new LcmScheduler(schedule, steps, strength);
    case 'euler': return new EulerScheduler(schedule, steps, 'normal', strength);
    case 'euler_karras': return new EulerScheduler(schedule, steps, 'karras', strength);
    case 'euler_a': return new EulerAncestralScheduler(schedule, steps, 'normal', strength);
    case 'dpmpp_2m': return new DpmPp2mScheduler(schedule, steps, 'normal', strength);
    case 'dpmpp_2m_karras': return new DpmPp2mScheduler(schedule, steps, 'karras', strength);
  }
}

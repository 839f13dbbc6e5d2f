import type { LoraBranches } from './lora-feeds.ts';

/**
 * What the sampler takes from a LORA_STACK input: text-encoder branches for the run and UNet branches
 * for each UNet call (so a stack can fade LoRAs in or out over the steps without reloading the model).
 * Return the same map object for consecutive steps whose weights do not change: the sampler then reuses
 * the feeds.
 */
export interface LoraSchedule {
  text?: LoraBranches;
  unet(step: number, total: number): LoraBranches | undefined;
}

export function isLoraSchedule(v: unknown): v is LoraSchedule {
  return typeof v === 'object' && v !== null && typeof (v as LoraSchedule).unet === 'function';
}

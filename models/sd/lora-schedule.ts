import type { LoraBranches } from './lora-feeds.ts';

/**
 * What the sampler takes from a LORA_STACK input: text-encoder branches for the run and UNet branches
 * for each UNet call (so a stack can fade LoRAs in or out over the steps without reloading the model).
 * Return the same map object for consecutive steps whose weights do not change: the sampler then reuses
 * the feeds.
 */
export interface LoraSchedule {
  /** The SD config (config.ts name) the LoRAs were made for; undefined fits any model (no LoRAs). */
  base?: string;
  text?: LoraBranches;
  unet(step: number, total: number): LoraBranches | undefined;
}

/** Throws unless the LoRAs were made for the model's config (no base: no LoRAs, fits any). `input` names the port. */
export function checkLoraBase(schedule: LoraSchedule, model: { id: string; config: { name: string } }, input: string): void {
  if (schedule.base !== undefined && schedule.base !== model.config.name) {
    throw new Error(
      `${input} input: these LoRAs were made for ${schedule.base}, but the model is ${model.config.name} ("${model.id}"): ` +
        'use LoRAs trained on this model\'s base, or load the checkpoint they were made for',
    );
  }
}

export function isLoraSchedule(v: unknown): v is LoraSchedule {
  return typeof v === 'object' && v !== null && typeof (v as LoraSchedule).unet === 'function';
}

import { z } from 'zod';

/** The fields of a PEFT LoraConfig that decide a module's scale (ranks come from the tensors). */
export const PeftConfigSchema = z.looseObject({
  lora_alpha: z.number().optional(),
  alpha_pattern: z.record(z.string(), z.number()).optional(),
  use_rslora: z.boolean().optional(),
  use_dora: z.boolean().optional(),
});
export type PeftConfig = z.infer<typeof PeftConfigSchema>;

/** Configs per model: diffusers pipelines store one per component, PEFT's adapter_config.json one for all. */
export interface PeftConfigs {
  unet?: PeftConfig;
  text_encoder?: PeftConfig;
  all?: PeftConfig;
}

/** The safetensors metadata key under which diffusers stores the LoraConfig as JSON. */
export const PEFT_METADATA_KEY = 'lora_adapter_metadata';

// PEFT's default lora_alpha when a config leaves it out.
const PEFT_DEFAULT_ALPHA = 8;

/**
 * PEFT configs from a file's metadata (`lora_adapter_metadata`, its keys optionally prefixed
 * `unet.` / `text_encoder.`) and/or an adapter_config.json beside it. Undefined when neither exists.
 */
export function peftConfigs(metadata: Record<string, string>, adapterConfig?: unknown): PeftConfigs | undefined {
  const configs: PeftConfigs = {};
  if (adapterConfig !== undefined) configs.all = PeftConfigSchema.parse(adapterConfig);
  const raw = metadata[PEFT_METADATA_KEY];
  if (raw) {
    const parsed = z.record(z.string(), z.unknown()).parse(JSON.parse(raw));
    const parts: Record<string, Record<string, unknown>> = {};
    for (const [key, value] of Object.entries(parsed)) {
      const m = /^(unet|text_encoder)\.(.+)$/.exec(key);
      (parts[(m ? m[1] : 'all')!] ??= {})[(m ? m[2] : key)!] = value;
    }
    for (const [part, cfg] of Object.entries(parts)) configs[part as keyof PeftConfigs] = PeftConfigSchema.parse(cfg);
  }
  return Object.keys(configs).length ? configs : undefined;
}

/**
 * The kohya-style alpha (scale = alpha / rank) of a PEFT module: alpha_pattern, else lora_alpha;
 * with use_rslora the scale is alpha / sqrt(rank). Patterns are matched literally against the end
 * of the module path (as PEFT does for plain names; no regular expressions from files are run).
 */
export function peftAlpha(configs: PeftConfigs | undefined, part: 'unet' | 'text_encoder', path: string, rank: number): number {
  const cfg = configs?.[part] ?? configs?.all;
  if (!cfg) return rank;
  if (cfg.use_dora) throw new Error('DoRA adapters (use_dora) are not supported');
  const pattern = Object.entries(cfg.alpha_pattern ?? {}).find(([p]) => path === p || path.endsWith(`.${p}`));
  const alpha = pattern ? pattern[1] : (cfg.lora_alpha ?? PEFT_DEFAULT_ALPHA);
  return cfg.use_rslora ? alpha * Math.sqrt(rank) : alpha;
}

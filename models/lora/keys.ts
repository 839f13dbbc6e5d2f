import { kohyaName } from '../sd/checkpoint-names.ts';
import type { LoraFormat } from './schema.ts';

/** What one tensor key of a LoRA file is: part of a module's down/up pair or its alpha. */
export interface LoraKey {
  /** kohya module name the key belongs to. */
  module: string;
  part: 'down' | 'up' | 'alpha';
  format: LoraFormat;
  /** diffusers/PEFT module path inside its model (PEFT's per-module config patterns match it). */
  path?: string;
}

export type ParsedKey = LoraKey | { unsupported: string } | undefined;

const KOHYA = /^(lora_(?:unet|te\d*)_\w+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
const KOHYA_PART = { 'lora_down.weight': 'down', 'lora_up.weight': 'up', alpha: 'alpha' } as const;

// Adapter kinds we cannot express as one down/up pair; naming them beats a silent "unmatched".
const UNSUPPORTED: [RegExp, string][] = [
  [/\.(hada_w[12]_[ab]|hada_t[12])$/, 'LyCORIS LoHa'],
  [/\.(lokr_w[12](_[ab])?|lokr_t2)$/, 'LyCORIS LoKr'],
  [/\.lora_mid\.weight$/, 'LyCORIS LoCon with a Tucker (lora_mid) factor'],
  [/\.(dora_scale|lora_magnitude_vector(\.[\w-]+)?(\.weight)?)$/, 'DoRA'],
  [/\.(diff|diff_b)$/, 'full weight differences (.diff)'],
  [/\.(lora_embedding_[AB])(\.[\w-]+)?$/, 'PEFT embedding LoRA'],
];

// The attention-processor files (diffusers < 0.17) name projections after the UNet's attention.
const ATTN_PROC = /^(.+?)(?:\.processor)?\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/;
const UNET_PROJ = { to_q: 'to_q', to_k: 'to_k', to_v: 'to_v', to_out: 'to_out.0' } as const;
const TEXT_PROJ = { to_q: 'q_proj', to_k: 'k_proj', to_v: 'v_proj', to_out: 'out_proj' } as const;

const DIFFUSERS = /^(.+)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/;
// PEFT may insert the adapter name: lora_A.default.weight.
const PEFT = /^(.+)\.lora_([AB])(?:\.[\w-]+)?\.weight$/;
const ALPHA = /^(.+)\.alpha$/;

/** Parses one key in kohya, diffusers (both generations) or PEFT naming. */
export function parseLoraKey(key: string): ParsedKey {
  const kohya = KOHYA.exec(key);
  if (kohya) return { module: kohya[1]!, part: KOHYA_PART[kohya[2] as keyof typeof KOHYA_PART], format: 'kohya' };
  for (const [re, what] of UNSUPPORTED) if (re.test(key)) return { unsupported: what };

  const proc = ATTN_PROC.exec(key);
  if (proc) {
    const { part, path } = splitModel(proc[1]!);
    const proj = (part === 'unet' ? UNET_PROJ : TEXT_PROJ)[proc[2] as keyof typeof UNET_PROJ];
    return moduleKey(`${part}.${path}.${proj}`, proc[3] as 'down' | 'up', 'diffusers-attn-procs');
  }
  const diffusers = DIFFUSERS.exec(key);
  if (diffusers) return moduleKey(diffusers[1]!, diffusers[2] as 'down' | 'up', 'diffusers');
  const peft = PEFT.exec(key);
  if (peft) return moduleKey(peft[1]!, peft[2] === 'A' ? 'down' : 'up', 'peft');
  const alpha = ALPHA.exec(key);
  // A lone alpha's format is decided by the weights beside it; 'diffusers' is a placeholder.
  if (alpha) return moduleKey(alpha[1]!, 'alpha', 'diffusers');
  return undefined;
}

function moduleKey(fullPath: string, part: LoraKey['part'], format: LoraFormat): LoraKey {
  const { part: model, path } = splitModel(fullPath);
  return { module: kohyaName(model, path), part, format, path };
}

/**
 * Splits a diffusers/PEFT module path into the model it belongs to and the path inside it:
 * `unet.` / `text_encoder.` prefixes (diffusers pipelines), `base_model.model.` (PEFT on one model),
 * or none (attention-processor files hold the UNet only). Other prefixes stay in the path, so an
 * SDXL `text_encoder_2.` module simply matches nothing.
 */
export function splitModel(fullPath: string): { part: 'unet' | 'text_encoder'; path: string } {
  const path = fullPath.replace(/^base_model\.model\./, '');
  if (path.startsWith('unet.')) return { part: 'unet', path: path.slice('unet.'.length) };
  if (path.startsWith('text_encoder.')) return { part: 'text_encoder', path: path.slice('text_encoder.'.length) };
  return { part: path.startsWith('text_model.') ? 'text_encoder' : 'unet', path };
}

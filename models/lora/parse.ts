import { fromBfloat16, fromFloat16, type HostTensor } from '../onnx/index.ts';
import { parseLoraKey } from './keys.ts';
import { peftAlpha, type PeftConfigs } from './peft-config.ts';
import type { F32Tensor, LoraFormat } from './schema.ts';

/** A module as read from a file, before it is matched to an architecture. */
export interface RawModule {
  name: string;
  /** diffusers/PEFT module path inside its model (for PEFT's per-module patterns). */
  path?: string;
  down: F32Tensor;
  up: F32Tensor;
  alpha: number;
}

export interface RawLora {
  format: LoraFormat;
  modules: RawModule[];
  ignoredKeys: string[];
  warnings: string[];
}

export class LoraFileError extends Error {
  override name = 'LoraFileError';
}

/**
 * Groups a LoRA file's tensors into modules (any supported naming) and resolves each module's alpha:
 * kohya's `.alpha` (missing: alpha = rank), PEFT's config (lora_alpha, alpha_pattern, rslora).
 * `label` names the file in every error.
 */
export function parseLoraTensors(
  tensors: ReadonlyMap<string, HostTensor>, label: string, peft?: PeftConfigs,
): RawLora {
  const groups = new Map<string, { path?: string; down?: string; up?: string; alpha?: string; format?: LoraFormat }>();
  const ignoredKeys: string[] = [];
  for (const key of tensors.keys()) {
    const parsed = parseLoraKey(key);
    if (parsed === undefined) {
      ignoredKeys.push(key);
      continue;
    }
    if ('unsupported' in parsed) throw new LoraFileError(`LoRA "${label}": ${parsed.unsupported} is not supported (key ${key})`);
    const group = groups.get(parsed.module) ?? {};
    groups.set(parsed.module, group);
    if (group[parsed.part]) throw new LoraFileError(`LoRA "${label}": keys ${group[parsed.part]} and ${key} are the same ${parsed.part} of ${parsed.module}`);
    group[parsed.part] = key;
    if (parsed.part !== 'alpha') group.format ??= parsed.format;
    group.path ??= parsed.path;
  }
  if (groups.size === 0) {
    throw new LoraFileError(`LoRA "${label}" holds no LoRA weights (no lora_down/lora_up, lora_A/lora_B or lora.down/up keys)`);
  }

  const formats = new Set<LoraFormat>();
  const modules: RawModule[] = [];
  const warnings: string[] = [];
  for (const [name, g] of groups) {
    if (!g.down || !g.up) {
      throw new LoraFileError(`LoRA "${label}": module ${name} has ${g.down ? 'no up' : g.up ? 'no down' : 'only an alpha'} weight`);
    }
    formats.add(g.format!);
    const down = toF32(tensors.get(g.down)!, label, g.down);
    const up = toF32(tensors.get(g.up)!, label, g.up);
    const rank = down.dims[0];
    if (down.dims.length < 2 || up.dims.length < 2 || up.dims[1] !== rank || rank === 0) {
      throw new LoraFileError(`LoRA "${label}": ${name} has down [${down.dims}] and up [${up.dims}], which do not share a rank`);
    }
    let alpha = rank;
    if (g.alpha) alpha = scalar(tensors.get(g.alpha)!, label, g.alpha);
    else if (g.format === 'peft') {
      const part = name.startsWith('lora_te') ? 'text_encoder' : 'unet';
      try {
        alpha = peftAlpha(peft, part, g.path ?? name, rank!);
      } catch (e) {
        throw new LoraFileError(`LoRA "${label}": ${(e as Error).message}`);
      }
    }
    modules.push({ name, path: g.path, down, up, alpha: alpha! });
  }
  if (formats.has('peft') && !peft) {
    warnings.push(`LoRA "${label}": PEFT weights without an adapter config (adapter_config.json or lora_adapter_metadata): alpha = rank assumed (scale 1)`);
  }
  return { format: [...formats][0]!, modules, ignoredKeys, warnings };
}

/** Any float tensor as float32 (LoRA files are mostly float16 or bfloat16). */
export function toF32(t: HostTensor, label: string, key: string): F32Tensor {
  const dims = [...t.dims];
  switch (t.dtype) {
    case 'float32': return { dtype: 'float32', dims, data: t.data as Float32Array };
    case 'float16': return { dtype: 'float32', dims, data: fromFloat16(t.data as Uint16Array) };
    case 'bfloat16': return { dtype: 'float32', dims, data: fromBfloat16(t.data as Uint16Array) };
    case 'float64': return { dtype: 'float32', dims, data: Float32Array.from(t.data as Float64Array) };
    default: throw new LoraFileError(`LoRA "${label}": ${key} is ${t.dtype}, not a float tensor`);
  }
}

function scalar(t: HostTensor, label: string, key: string): number {
  const v = toF32(t, label, key).data;
  if (v.length !== 1 || !Number.isFinite(v[0])) throw new LoraFileError(`LoRA "${label}": ${key} should hold one number`);
  return v[0]!;
}

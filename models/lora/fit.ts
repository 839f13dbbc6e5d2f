import { SD_CONFIGS, type SdConfig } from '../sd/config.ts';
import { moduleIndex, type AdaptableModule } from './modules.ts';
import { LoraFileError, type RawLora, type RawModule } from './parse.ts';
import type { F32Tensor, Lora, LoraModule } from './schema.ts';

const BASE_TITLES: Record<string, string> = { sd15: 'Stable Diffusion 1.5', tiny: 'the tiny test model', demo: 'the demo model' };

/**
 * Matches every module of a parsed file onto one SD architecture (the first of `configs` that all
 * modules fit, by name and shape) and brings names to kohya's diffusers-based form and 1x1-conv
 * modules to conv layout, so the same LoRA reads the same whatever naming it was saved in. A file that fits none is an error naming the file, the
 * modules that match nothing and, when the file says or its names show, the base it was made for.
 */
export function fitLora(
  raw: RawLora, info: Pick<Lora, 'name' | 'source' | 'metadata'>,
  configs: readonly SdConfig[] = Object.values(SD_CONFIGS),
): Lora {
  let best: { config: SdConfig; problems: string[] } | undefined;
  for (const config of configs) {
    const index = moduleIndex(config);
    const problems: string[] = [];
    const modules: LoraModule[] = [];
    for (const m of raw.modules) {
      const target = index.byName.get(m.name) ?? index.byLdmName.get(m.name);
      const fitted = target ? fitModule(m, target) : undefined;
      if (typeof fitted === 'string') problems.push(fitted);
      else if (!fitted) problems.push(`${m.name} matches no module`);
      else modules.push(fitted);
    }
    if (problems.length === 0) {
      return { ...info, format: raw.format, base: config.name, modules, ignoredKeys: raw.ignoredKeys };
    }
    if (!best || problems.length < best.problems.length) best = { config, problems };
  }
  const { config, problems } = best!;
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
  throw new LoraFileError(
    `LoRA "${info.name}" does not fit ${BASE_TITLES[config.name] ?? config.name}: ${problems.length} of ${raw.modules.length} modules do not match (${shown}).` +
      baseHint(raw, info.metadata),
  );
}

/** The module in the target's layout, or a sentence saying why its shapes do not fit. */
function fitModule(m: RawModule, target: AdaptableModule): LoraModule | string {
  const [out, inDim, ...kernel] = target.shape;
  const rank = m.down.dims[0];
  if (out === undefined || inDim === undefined || rank === undefined) return `${m.name}: a weight of rank 2 or 4 was expected, not [${target.shape}] with down [${m.down.dims}]`;
  const conv = kernel.length === 2;
  const is1x1 = conv && kernel[0] === 1 && kernel[1] === 1;
  const downOk = same(m.down.dims, [rank, inDim, ...kernel]) || (is1x1 && same(m.down.dims, [rank, inDim]));
  const upOk = same(m.up.dims, conv ? [out, rank, 1, 1] : [out, rank]) || (is1x1 && same(m.up.dims, [out, rank]));
  if (!downOk || !upOk) {
    return `${m.name} has down [${m.down.dims}] and up [${m.up.dims}], the model's weight is [${target.shape}]`;
  }
  const reshape = (t: F32Tensor, dims: number[]): F32Tensor => ({ dtype: 'float32', dims, data: t.data });
  return {
    name: target.name,
    down: reshape(m.down, [rank, inDim, ...kernel]),
    up: reshape(m.up, conv ? [out, rank, 1, 1] : [out, rank]),
    alpha: m.alpha,
  };
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** What the file says about its base model, or what its names give away. */
function baseHint(raw: RawLora, metadata: Record<string, string>): string {
  const said = metadata['modelspec.architecture'] ?? metadata.ss_base_model_version;
  if (said) return ` The file says it was made for "${said}".`;
  const names = raw.modules.map((m) => m.name);
  if (names.some((n) => /^lora_te[12]_/.test(n))) return ' Its module names are those of SDXL (two text encoders).';
  if (names.some((n) => /^lora_transformer_|single_transformer_blocks|joint_blocks/.test(n))) {
    return ' Its module names are those of a transformer (DiT) model such as SD3 or Flux.';
  }
  const te = raw.modules.find((m) => /^lora_te_.*q_proj$/.test(m.name));
  if (te && te.down.dims[1] === 1024) return ' Its text-encoder width is 1024, as in SD 2.x.';
  return '';
}

import { kohyaName, LDM_PREFIX, unetKeyToDiffusers } from '../sd/checkpoint-names.ts';
import type { SdConfig } from '../sd/config.ts';
import { buildPart } from '../sd/build.ts';
import type { LoraTarget } from '../sd/lora-targets.ts';
import { ShapeRecorder } from '../sd/weight-source.ts';

/** A module of an SD architecture that a LoRA may adapt: every linear and conv weight of UNet and text encoder. */
export interface AdaptableModule {
  /** kohya module name. */
  name: string;
  /** Checkpoint (LDM) key of the weight without `.weight`. */
  ldm: string;
  /** The weight's shape: [out, in] or [out, in, kh, kw]. */
  shape: number[];
  /** The graph's low-rank branch for this module; undefined for modules only baking can adapt (3x3 convs). */
  target?: LoraTarget;
}

export interface ModuleIndex {
  config: SdConfig;
  byName: Map<string, AdaptableModule>;
  /** UNet modules by kohya-style names of their LDM keys (lora_unet_input_blocks_1_1_proj_in), as some tools write. */
  byLdmName: Map<string, AdaptableModule>;
  /** LoRA targets of the UNet and text-encoder graphs, in graph-input order. */
  unetTargets: LoraTarget[];
  textTargets: LoraTarget[];
}

const cache = new Map<SdConfig, ModuleIndex>();

/**
 * The adaptable modules of a config, read off the architecture itself (built once with a recorder
 * that only collects weight keys and shapes), so names and shapes cannot drift from the graphs.
 */
export function moduleIndex(config: SdConfig): ModuleIndex {
  const cached = cache.get(config);
  if (cached) return cached;
  const byName = new Map<string, AdaptableModule>();
  const byLdmName = new Map<string, AdaptableModule>();
  const targets: Record<'unet' | 'text', LoraTarget[]> = { unet: [], text: [] };
  for (const part of ['unet', 'text'] as const) {
    const recorder = new ShapeRecorder();
    targets[part] = buildPart(config, part, recorder).loraTargets;
    const byModule = new Map(targets[part].map((t) => [t.module, t]));
    for (const [key, shape] of recorder.shapes) {
      if (!key.endsWith('.weight') || (shape.length !== 2 && shape.length !== 4) || key.includes('.embeddings.')) continue;
      const ldm = key.slice(0, -'.weight'.length);
      const name = kohyaNameOfLdm(ldm, config);
      const module = { name, ldm, shape, target: byModule.get(ldm) };
      byName.set(name, module);
      if (part === 'unet') byLdmName.set(`lora_unet_${ldm.slice(LDM_PREFIX.unet.length).replaceAll('.', '_')}`, module);
    }
  }
  const index = { config, byName, byLdmName, unetTargets: targets.unet, textTargets: targets.text };
  cache.set(config, index);
  return index;
}

function kohyaNameOfLdm(ldm: string, config: SdConfig): string {
  if (ldm.startsWith(LDM_PREFIX.unet)) {
    const diffusers = unetKeyToDiffusers(`${ldm.slice(LDM_PREFIX.unet.length)}.weight`, config.unet);
    return kohyaName('unet', diffusers.slice(0, -'.weight'.length));
  }
  return kohyaName('text_encoder', ldm.slice(LDM_PREFIX.text.length));
}

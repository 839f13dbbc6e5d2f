// Random LoRAs for an SD config's modules, written in each naming a LoRA file may use.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { HostTensor } from '../../models/onnx/index.ts';
import { ldmKeyToDiffusers } from '../../models/sd/checkpoint-names.ts';
import { tiny, type SdConfig } from '../../models/sd/config.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { moduleIndex, type AdaptableModule } from '../../models/lora/modules.ts';
import { Rng } from '../../runtime/rng.ts';

export interface RandomModule {
  module: AdaptableModule;
  /** kohya layout: down [r, in(, kh, kw)], up [out, r(, 1, 1)]. */
  down: Float32Array;
  up: Float32Array;
  rank: number;
  alpha: number;
}

/** A random LoRA on the modules `pick` selects (default: every graph target). */
export function randomLora(
  config: SdConfig, o: { seed: number; rank: number; alpha?: number; pick?: (m: AdaptableModule) => boolean },
): RandomModule[] {
  const rng = new Rng(o.seed);
  const pick = o.pick ?? ((m: AdaptableModule) => m.target !== undefined);
  return [...moduleIndex(config).byName.values()].filter(pick).map((module) => {
    const [out, inDim, kh = 1, kw = 1] = module.shape;
    const down = rng.fillNormal(new Float32Array(o.rank * inDim! * kh * kw)).map((v) => v / Math.sqrt(inDim!));
    const up = rng.fillNormal(new Float32Array(out! * o.rank)).map((v) => v * 0.1);
    return { module, down, up, rank: o.rank, alpha: o.alpha ?? o.rank };
  });
}

export type Naming = 'kohya' | 'peft' | 'peft-model' | 'diffusers' | 'diffusers-attn-procs';

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

/** The LoRA's tensors under one naming. PEFT and diffusers names carry no alpha (the caller gives a config). */
export function loraTensors(lora: RandomModule[], naming: Naming, config: SdConfig): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const m of lora) {
    const [o = 0, i = 0, ...k] = m.module.shape;
    const conv = k.length === 2;
    const downDims = [m.rank, i, ...k];
    const upDims = conv ? [o, m.rank, 1, 1] : [o, m.rank];
    if (naming === 'kohya') {
      out.set(`${m.module.name}.lora_down.weight`, f32(downDims, m.down));
      out.set(`${m.module.name}.lora_up.weight`, f32(upDims, m.up));
      if (m.alpha !== m.rank) out.set(`${m.module.name}.alpha`, f32([], Float32Array.of(m.alpha)));
      continue;
    }
    const [folder, key] = ldmKeyToDiffusers(`${m.module.ldm}.weight`, config);
    const path = `${folder}.${key.slice(0, -'.weight'.length)}`;
    if (naming === 'peft' || naming === 'peft-model') {
      const p = naming === 'peft' ? path : `base_model.model.${path.slice(folder.length + 1)}`;
      out.set(`${p}.lora_A.weight`, f32(downDims, m.down));
      out.set(`${p}.lora_B.weight`, f32(upDims, m.up));
    } else if (naming === 'diffusers') {
      // diffusers saved text-encoder layers as lora_linear_layer and UNet layers as lora (2-D for linear).
      const layer = folder === 'text_encoder' ? 'lora_linear_layer' : 'lora';
      out.set(`${path}.${layer}.down.weight`, f32(downDims, m.down));
      out.set(`${path}.${layer}.up.weight`, f32(upDims, m.up));
    } else {
      const proc = /^(unet\..*)\.(to_q|to_k|to_v|to_out\.0)$/.exec(path) ?? /^(text_encoder\..*)\.(q_proj|k_proj|v_proj|out_proj)$/.exec(path);
      if (!proc) continue;
      const name = { to_q: 'to_q', to_k: 'to_k', to_v: 'to_v', 'to_out.0': 'to_out', q_proj: 'to_q', k_proj: 'to_k', v_proj: 'to_v', out_proj: 'to_out' }[proc[2]!];
      const where = folder === 'unet' ? `${proc[1]}.processor` : proc[1];
      out.set(`${where}.${name}_lora.down.weight`, f32(downDims, m.down));
      out.set(`${where}.${name}_lora.up.weight`, f32(upDims, m.up));
    }
  }
  return out;
}

/** Writes tiny-model LoRAs in kohya naming into a model store's loras/ folder, by file name. */
export async function writeTinyLoras(modelsDir: string, files: Record<string, RandomModule[]>): Promise<void> {
  const dir = path.join(modelsDir, 'loras');
  mkdirSync(dir, { recursive: true });
  for (const [file, lora] of Object.entries(files)) await writeSafetensors(path.join(dir, file), loraTensors(lora, 'kohya', tiny));
}

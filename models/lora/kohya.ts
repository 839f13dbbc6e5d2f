import type { HostTensor } from '../onnx/index.ts';
import { PEFT_METADATA_KEY } from './peft-config.ts';
import { rankOf, type Lora } from './schema.ts';

/**
 * A LoRA's tensors and metadata in kohya-ss naming, as written to a .safetensors file: every module's
 * lora_down / lora_up weights and an explicit alpha, whatever naming it was read from. PEFT's config
 * is dropped from the metadata (the alphas now say it); the rest is kept, with kohya's dim/alpha keys.
 */
export function kohyaTensors(lora: Lora): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  const tensors = new Map<string, HostTensor>();
  for (const m of lora.modules) {
    tensors.set(`${m.name}.lora_down.weight`, m.down);
    tensors.set(`${m.name}.lora_up.weight`, m.up);
    tensors.set(`${m.name}.alpha`, { dtype: 'float32', dims: [], data: Float32Array.of(m.alpha) });
  }
  const { [PEFT_METADATA_KEY]: _peft, ...metadata } = lora.metadata;
  const ranks = new Set(lora.modules.map(rankOf));
  const alphas = new Set(lora.modules.map((m) => m.alpha));
  return {
    tensors,
    metadata: {
      ...metadata,
      ss_network_module: 'networks.lora',
      ...(ranks.size === 1 ? { ss_network_dim: String([...ranks][0]) } : {}),
      ...(alphas.size === 1 ? { ss_network_alpha: String([...alphas][0]) } : {}),
    },
  };
}

import { tinyModel } from './tiny-model.ts';
import type { SdModel } from './sd-model.ts';

// The tiny model is the same for every caller: build it once per process.
let tiny: SdModel | undefined;

/**
 * A checkpoint as the load node names it: 'tiny', or a path under data/models/checkpoints (a single
 * .safetensors file or a diffusers folder). Reading checkpoint files waits for the safetensors reader
 * of models/safetensors; until then only 'tiny' loads.
 */
export async function loadSdModel(checkpoint: string, _modelsDir: string): Promise<SdModel> {
  if (checkpoint === 'tiny') return (tiny ??= tinyModel(0));
  throw new Error(`reading checkpoint files is not available yet (needs models/safetensors); asked for ${checkpoint}`);
}

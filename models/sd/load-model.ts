import { tinyModel } from './tiny-model.ts';
import type { SdModel } from './sd-model.ts';

/** A checkpoint as the load node names it: 'tiny', or a path under data/models/checkpoints. */
export async function loadSdModel(checkpoint: string, _modelsDir: string): Promise<SdModel> {
  if (checkpoint === 'tiny') return tinyModel(0);
  throw new Error(`loading checkpoint files is not available yet (asked for ${checkpoint})`);
}

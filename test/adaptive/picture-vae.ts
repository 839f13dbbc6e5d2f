// The tiny model with a VAE that keeps pictures (models/sd/picture-vae.ts): its random VAE turns any
// image into noise, so no face survives img2img and identity scores are all undefined. The UNet and
// text encoder keep their random weights.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HostTensor } from '../../models/onnx/index.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { tiny } from '../../models/sd/config.ts';
import { setPictureVae } from '../../models/sd/picture-vae.ts';
import { sdModelFromWeights, type SdModel } from '../../models/sd/sd-model.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';

/** VAE weights for the tiny config that keep pictures; everything else from randomWeights(tiny, seed). */
export function pictureVaeWeights(seed = 0): Map<string, HostTensor> {
  return setPictureVae(randomWeights(tiny, seed));
}

/** The tiny model with that VAE, in memory. */
export function pictureTinyModel(seed = 0): SdModel {
  return sdModelFromWeights(`tiny-picture-vae:${seed}`, tiny, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(pictureVaeWeights(seed)));
}

/** Writes that model as an LDM checkpoint `<models>/checkpoints/<name>` (tokenizer.json beside it), as a user would. */
export async function writePictureCheckpoint(modelsDir: string, name = 'tiny-picture.safetensors', seed = 0): Promise<void> {
  const dir = path.join(modelsDir, 'checkpoints');
  mkdirSync(dir, { recursive: true });
  await writeSafetensors(path.join(dir, name), pictureVaeWeights(seed));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
}

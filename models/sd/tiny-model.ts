import { tiny } from './config.ts';
import { clipTokenizerFromJson } from './clip-tokenizer.ts';
import { tinyClipTokenizerJson } from './tiny-tokenizer.ts';
import { randomWeights } from './tiny-weights.ts';
import { TensorWeights } from './tensor-weights.ts';
import { sdModelFromWeights, type SdModel } from './sd-model.ts';
import type { BuildOptions } from './build.ts';

/** The `tiny` config with seeded random weights and the tiny tokenizer: runs anywhere in milliseconds. */
export function tinyModel(seed = 0, o: BuildOptions = {}): SdModel {
  return sdModelFromWeights(`tiny:${seed}`, tiny, clipTokenizerFromJson(tinyClipTokenizerJson()), new TensorWeights(randomWeights(tiny, seed)), o);
}

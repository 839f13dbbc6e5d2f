import { existsSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsHeader } from '../safetensors.ts';
import { safeJoin } from '../../runtime/data-folder.ts';
import { loadClipTokenizer } from './clip-tokenizer.ts';
import { sd15, tiny as tinyConfig, type SdConfig } from './config.ts';
import { ExternalWeights, type CheckpointIndex } from './external-weights.ts';
import { sdModelFromWeights, type SdModel } from './sd-model.ts';
import { tinyModel } from './tiny-model.ts';

// The built-in tiny model is the same for every caller: build it once per process.
let tiny: SdModel | undefined;

/**
 * A checkpoint as the load node names it: 'tiny', or a single-file .safetensors (LDM key names, fp32 or
 * fp16) under data/models/checkpoints. The weights stay in the file: the graphs point into it.
 */
export async function loadSdModel(checkpoint: string, modelsDir: string): Promise<SdModel> {
  if (checkpoint === 'tiny') return (tiny ??= tinyModel(0));
  const dir = path.join(modelsDir, 'checkpoints');
  const file = safeJoin(dir, checkpoint);
  if (!existsSync(file)) throw new Error(`params.checkpoint: "${checkpoint}" is not in data/models/checkpoints`);
  if (!file.endsWith('.safetensors')) throw new Error(`params.checkpoint: "${checkpoint}": only .safetensors checkpoints are read (.ckpt pickles can run code)`);
  return loadCheckpointFile(file, checkpoint);
}

/** Loads a single-file checkpoint with the SD config its UNet's first conv matches. */
export async function loadCheckpointFile(file: string, label = path.basename(file)): Promise<SdModel> {
  const header = await readSafetensorsHeader(file);
  const index: CheckpointIndex = new Map(
    [...header.entries.values()].map((e) => [e.name, { file: path.basename(file), offset: e.begin, dtype: e.dtype, dims: e.dims }]),
  );
  const config = configOf(index, label);
  const tokenizer = loadClipTokenizer(tokenizerDir(file, label));
  const weights = new ExternalWeights(index);
  let model: SdModel;
  try {
    model = sdModelFromWeights(`${label}:${config.name}`, config, tokenizer, weights, { weightsDir: path.dirname(file) });
  } catch (e) {
    throw new Error(`Checkpoint "${label}" does not fit ${config.name}: ${(e as Error).message}`);
  }
  const unused = weights.unused();
  if (unused.length) throw new Error(`Checkpoint "${label}" has ${unused.length} tensors ${config.name} does not use (e.g. ${unused.slice(0, 3).join(', ')}): not an SD1.5 checkpoint?`);
  return model;
}

const FIRST_CONV = 'model.diffusion_model.input_blocks.0.0.weight';

function configOf(index: CheckpointIndex, label: string): SdConfig {
  const conv = index.get(FIRST_CONV);
  if (!conv) throw new Error(`Checkpoint "${label}" has no ${FIRST_CONV}: not a Stable Diffusion checkpoint in the original (LDM) layout`);
  const config = [sd15, tinyConfig].find((c) => c.unet.channels[0] === conv.dims[0]);
  if (!config) throw new Error(`Checkpoint "${label}": a UNet with ${conv.dims[0]} base channels is not SD1.5 (320)`);
  return config;
}

/** The CLIP tokenizer files a single-file checkpoint needs: `<name>.tokenizer/` or `tokenizer/` beside it. */
function tokenizerDir(file: string, label: string): string {
  const own = file.replace(/\.safetensors$/, '.tokenizer');
  const shared = path.join(path.dirname(file), 'tokenizer');
  const dir = [own, shared].find((d) => existsSync(d));
  if (!dir) {
    throw new Error(
      `Checkpoint "${label}" needs CLIP's tokenizer files (vocab.json and merges.txt, or tokenizer.json from an SD1.5 diffusers folder's tokenizer/): put them in data/models/checkpoints/tokenizer/`,
    );
  }
  return dir;
}

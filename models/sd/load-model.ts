import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bytesOfArray, type HostTensor } from '../onnx/index.ts';
import { readSafetensorsHeader, writeSafetensors, type SafetensorsHeader } from '../safetensors.ts';
import { convertedKey, ensureConverted } from '../store/converted.ts';
import { isDiffusersFolder, resolveModel } from '../store/folders.ts';
import { safeJoin } from '../../runtime/data-folder.ts';
import { DIFFUSERS_PARTS, type DiffusersFolder } from './checkpoint-names.ts';
import { loadClipTokenizer } from './clip-tokenizer.ts';
import { demo, sd15, tiny as tinyConfig, type SdConfig } from './config.ts';
import { diffusersIndex } from './diffusers-index.ts';
import { withInputChannels } from './inpaint.ts';
import type { CheckpointIndex, StoredTensor } from './external-weights.ts';
import { cachedGraphs } from './graph-cache.ts';
import { SdModel, type PartModel } from './sd-model.ts';
import type { SessionManager } from '../session/manager.ts';
import { SD_PARTS, type SdPart } from './build.ts';
import { tinyClipTokenizerJson } from './tiny-tokenizer.ts';
import { randomWeights } from './tiny-weights.ts';

/** Where the demo model's shipped weights are (`npm run demo:train` writes them). */
export const DEMO_WEIGHTS = path.join(import.meta.dirname, 'demo', 'demo.safetensors');

/** The built-in checkpoints: each one LDM-layout safetensors file, written into the converted cache. */
const BUILTIN: Record<string, { file: string; key: () => Promise<string>; write: (file: string) => Promise<void> }> = {
  tiny: {
    file: 'tiny.safetensors',
    key: async () => convertedKey(weightsHash(randomWeights(tinyConfig, 0)), { checkpoint: 'tiny', seed: 0 }),
    write: (file) => writeSafetensors(file, randomWeights(tinyConfig, 0), { note: 'FaceChain Studio tiny model: seeded random weights' }),
  },
  demo: {
    file: 'demo.safetensors',
    key: async () => convertedKey(createHash('sha256').update(await readFile(DEMO_WEIGHTS)).digest('hex'), { checkpoint: 'demo' }),
    write: (file) => copyFile(DEMO_WEIGHTS, file),
  },
};

/** Checkpoint names that are built in, not files. */
export const BUILTIN_CHECKPOINTS = Object.keys(BUILTIN);

export function isBuiltinCheckpoint(name: string): boolean {
  return Object.hasOwn(BUILTIN, name);
}

/** What identifies a built-in model's weights for the node cache (the demo's change when retrained). */
export function builtinFingerprint(name: string): string {
  if (name !== 'demo') return name;
  const s = statSync(DEMO_WEIGHTS);
  return `demo:${s.size}:${s.mtimeMs}`;
}

/** Built-in models already loaded, by name and models folder: the caller's (an executor's services). */
export type BuiltinModels = Map<string, Promise<SdModel>>;

/**
 * A checkpoint as the load node names it: 'tiny' or 'demo' (built in), a single-file .safetensors (LDM
 * key names, fp32 or fp16) or a diffusers folder under data/models/checkpoints. The weights stay in the
 * files: the graphs point into them. A built-in model is the same for every caller that shares `builtins`.
 * `sessions`: the session cache its sessions go through (an executor's); none: the model's own sessions.
 */
export async function loadSdModel(checkpoint: string, modelsDir: string, builtins: BuiltinModels = new Map(), sessions?: SessionManager): Promise<SdModel> {
  if (isBuiltinCheckpoint(checkpoint)) {
    const id = `${checkpoint}\0${modelsDir}`;
    let model = builtins.get(id);
    if (!model) {
      model = loadBuiltin(checkpoint, modelsDir, sessions);
      builtins.set(id, model);
      model.catch(() => builtins.delete(id));
    }
    return model;
  }
  const file = resolveModel(modelsDir, 'checkpoints', checkpoint);
  if (!existsSync(file)) throw new Error(`params.checkpoint: "${checkpoint}" is not in data/models/checkpoints`);
  if (statSync(file).isDirectory()) {
    if (!isDiffusersFolder(file)) throw new Error(`params.checkpoint: "${checkpoint}" is a folder without model_index.json: not a diffusers model`);
    return loadDiffusersFolder(file, modelsDir, checkpoint, sessions);
  }
  if (!file.endsWith('.safetensors')) throw new Error(`params.checkpoint: "${checkpoint}": only .safetensors checkpoints are read (.ckpt pickles can run code)`);
  return loadCheckpointFile(file, modelsDir, checkpoint, undefined, sessions);
}

/**
 * A built-in model written once as a real LDM-layout safetensors file (with the tiny tokenizer beside
 * it) in the converted cache, keyed by its weights' hash, then loaded like any checkpoint: `tiny`'s
 * seeded random weights, or `demo`'s shipped trained ones.
 */
async function loadBuiltin(name: string, modelsDir: string, sessions?: SessionManager): Promise<SdModel> {
  const builtin = BUILTIN[name]!;
  const dir = await ensureConverted(modelsDir, await builtin.key(), async (d) => {
    await builtin.write(path.join(d, builtin.file));
    await writeFile(path.join(d, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  });
  return loadCheckpointFile(path.join(dir, builtin.file), modelsDir, name, undefined, sessions);
}

function weightsHash(weights: ReadonlyMap<string, HostTensor>): string {
  const hash = createHash('sha256');
  for (const [name, t] of weights) hash.update(`${name}:${t.dtype}:${t.dims.join(',')}\n`).update(bytesOfArray(t.data));
  return hash.digest('hex');
}

/**
 * Loads a single-file checkpoint with the SD config its UNet's first conv matches, or with `config` when
 * given (an architecture other than sd15 and tiny, e.g. the parity tests' reduced model).
 */
export async function loadCheckpointFile(file: string, modelsDir: string, label = path.basename(file), config?: SdConfig, sessions?: SessionManager): Promise<SdModel> {
  const index = checkpointIndex(await readSafetensorsHeader(file), path.basename(file));
  config ??= configOf(index.get(FIRST_CONV), label, FIRST_CONV);
  return build(label, config, loadClipTokenizer(tokenizerDir(file, label)), index, path.dirname(file), modelsDir, file, sessions);
}

/**
 * Loads a diffusers folder: `unet/`, `text_encoder/` and `vae/` weights as .safetensors (fp32, or the
 * `.fp16` variant when that is all there is), CLIP's tokenizer from `tokenizer/`.
 */
export async function loadDiffusersFolder(dir: string, modelsDir: string, label = path.basename(dir), sessions?: SessionManager): Promise<SdModel> {
  const files = {} as Record<DiffusersFolder, CheckpointIndex>;
  for (const { folder } of DIFFUSERS_PARTS) {
    const file = diffusersWeights(dir, folder, label);
    // safeJoin: a link in the folder must not lead out of it.
    files[folder] = checkpointIndex(await readSafetensorsHeader(safeJoin(dir, file)), file);
  }
  const config = configOf(files.unet.get('conv_in.weight'), label, 'unet/conv_in.weight');
  const tokenizer = path.join(dir, 'tokenizer');
  if (!existsSync(tokenizer)) throw new Error(`Checkpoint "${label}" has no tokenizer/ folder (CLIP's vocab.json and merges.txt from the diffusers model)`);
  return build(label, config, loadClipTokenizer(tokenizer), diffusersIndex(config, files), dir, modelsDir, undefined, sessions);
}

function diffusersWeights(dir: string, folder: DiffusersFolder, label: string): string {
  const base = folder === 'text_encoder' ? 'model' : 'diffusion_pytorch_model';
  const found = [`${base}.safetensors`, `${base}.fp16.safetensors`].find((f) => existsSync(path.join(dir, folder, f)));
  if (!found) throw new Error(`Checkpoint "${label}" has no ${folder}/${base}.safetensors (only .safetensors weights are read; .bin pickles can run code)`);
  return `${folder}/${found}`;
}

/** Every tensor of a safetensors file, located relative to the weights folder as `file`. */
export function checkpointIndex(header: SafetensorsHeader, file: string): CheckpointIndex {
  return new Map([...header.entries.values()].map((e): [string, StoredTensor] => [e.name, { file, offset: e.begin, dtype: e.dtype, dims: e.dims }]));
}

/** The model over the checkpoint's cached graphs (built on first load); the weights stay in the files. */
async function build(
  label: string, config: SdConfig, tokenizer: ReturnType<typeof loadClipTokenizer>, index: CheckpointIndex, weightsDir: string, modelsDir: string, file?: string, sessions?: SessionManager,
): Promise<SdModel> {
  let graphs;
  try {
    graphs = await cachedGraphs(modelsDir, config, index);
  } catch (e) {
    throw new Error(`Checkpoint "${label}" ${(e as Error).message}`);
  }
  const models = Object.fromEntries(SD_PARTS.map((part) => [part, () => ({ path: graphs.files[part] })])) as Record<SdPart, () => PartModel>;
  const weightFiles = [...new Set([...index.values()].map((t) => path.join(weightsDir, t.file)))].sort();
  return new SdModel(`${label}:${config.name}`, config, tokenizer, models, graphs.loraTargets, weightsDir, file, sessions, { modelsDir, weightFiles });
}

const FIRST_CONV = 'model.diffusion_model.input_blocks.0.0.weight';

/**
 * The config whose UNet base width matches the first conv's output channels; its input channels say
 * whether it is an inpainting UNet (9: latent, mask, masked-image latent, as sd-v1-5-inpainting).
 */
function configOf(conv: StoredTensor | undefined, label: string, key: string): SdConfig {
  if (!conv) throw new Error(`Checkpoint "${label}" has no ${key}: not a Stable Diffusion checkpoint in the original (LDM) or diffusers layout`);
  const config = [sd15, tinyConfig, demo].find((c) => c.unet.channels[0] === conv.dims[0]);
  if (!config) throw new Error(`Checkpoint "${label}": a UNet with ${conv.dims[0]} base channels is not SD1.5 (320)`);
  return withInputChannels(config, conv.dims[1]!, label);
}

/**
 * Where a single-file checkpoint's CLIP tokenizer is: `<name>.tokenizer/`, else `tokenizer/`, else a
 * `tokenizer.json` beside it.
 */
function tokenizerDir(file: string, label: string): string {
  const dir = path.dirname(file);
  const candidates = [file.replace(/\.safetensors$/, '.tokenizer'), path.join(dir, 'tokenizer')];
  const found = candidates.find((d) => existsSync(d)) ?? (existsSync(path.join(dir, 'tokenizer.json')) ? dir : undefined);
  if (!found) {
    throw new Error(
      `Checkpoint "${label}" needs CLIP's tokenizer files (vocab.json and merges.txt, or tokenizer.json, from an SD1.5 diffusers folder's tokenizer/): put them in data/models/checkpoints/tokenizer/`,
    );
  }
  return found;
}

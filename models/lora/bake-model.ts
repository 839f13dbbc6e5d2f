// A LoRA stack baked into an SD model. The merged weights go to one .safetensors in the converted cache,
// keyed by the content of the base weights they replace and the stack; the model's graphs are
// rewritten so those initializers read the baked file and every other one stays where it was.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  arrayFromBytes, bytesOfArray, decodeModel, dtypeFromOnnx, encodeModel, externalLocation, tensorFromProto, tensorToProto,
  toBfloat16, toFloat16, type HostTensor, type ModelProto, type TensorProto,
} from '../onnx/index.ts';
import { ExternalDataReader } from '../onnx/io.ts';
import { readSafetensorsHeader, writeSafetensorsStream, type SafetensorsEntry } from '../safetensors.ts';
import { SD_PARTS, type SdPart } from '../sd/build.ts';
import { checkLoraBase } from '../sd/lora-schedule.ts';
import { SdModel, type PartModel } from '../sd/sd-model.ts';
import { convertedKey, ensureConverted } from '../store/converted.ts';
import { commonDir, rebase, relativeFile, weightsIdentity, type GraphWeight } from '../sd/weight-files.ts';
import { assertBakeable, bakeModules } from './bake.ts';
import type { Lora } from './schema.ts';
import type { LoraStack } from './stack.ts';

/** Bump when baking changes what it writes for the same inputs. */
const BAKE_VERSION = 1;
const BAKED_FILE = 'lora-baked.safetensors';

export interface BakedModel {
  model: SdModel;
  /** The converted-cache key of the baked weights ('' when the stack adapts nothing). */
  key: string;
  /** True when the baked weights were already in the cache. */
  cached: boolean;
  /** How many weight tensors the bake replaced. */
  weights: number;
}

interface Part {
  proto: ModelProto;
  /** The folder its external data is relative to; undefined when every weight is inline. */
  dir: string | undefined;
}

/**
 * `model` with `stack` merged into its weights (W + Σ w·scale·block·up@down, 3x3 conv modules
 * included): sampled with rank-0 LoRA inputs it gives what `model` gives with the stack. A stack made
 * for another base, or with a per-step schedule, is an error naming `input` (the stack's port).
 */
export async function bakeIntoModel(model: SdModel, stack: LoraStack, modelsDir: string, input = 'loras'): Promise<BakedModel> {
  checkLoraBase(stack, model, input);
  try {
    assertBakeable(stack);
  } catch (e) {
    throw new Error(`${input} input: ${(e as Error).message}`);
  }
  const keys = stack.modules().map((m) => `${m.module.ldm}.weight`);
  if (!keys.length) return { model, key: '', cached: true, weights: 0 };

  const parts = new Map<SdPart, Part>();
  for (const part of SD_PARTS) parts.set(part, await readPart(model.graph(part), model.weightsDir));
  const bases = new Map(keys.map((key) => [key, findWeight(parts, key, model.id)]));
  const key = convertedKey(await weightsIdentity(bases, modelsDir), {
    bake: BAKE_VERSION,
    config: model.config.name,
    loras: stack.entries.map((e) => ({ tensors: loraHash(e.lora), weight: e.weight, blocks: e.blocks ?? null })),
  });

  let cached = true;
  const dir = await ensureConverted(modelsDir, key, async (d) => {
    cached = false;
    const readers = new Map<string, ExternalDataReader>();
    try {
      // Stored in the base's dtype, so the graphs (and their casts) stay as they are; written as they are
      // made, so only one merged tensor is in memory at a time.
      const dtypeOf = (k: string) => dtypeFromOnnx(bases.get(k)!.proto.dataType ?? 0);
      const specs = keys.map((k) => ({ name: k, dtype: dtypeOf(k), dims: bases.get(k)!.proto.dims ?? [] }));
      const data = async function* () {
        for await (const [k, t] of bakeModules(stack, (name) => readWeight(bases.get(name)!, readers))) yield asDtype(t, dtypeOf(k)).data;
      };
      const names = stack.entries.map((e) => `${e.lora.name} x${e.weight}`).join(', ');
      await writeSafetensorsStream(path.join(d, BAKED_FILE), specs, data(), { note: `FaceChain Studio: ${model.id} with LoRAs baked in (${names})` });
    } finally {
      await Promise.all([...readers.values()].map((r) => r.close()));
    }
  });

  const bakedFile = path.join(dir, BAKED_FILE);
  const { entries } = await readSafetensorsHeader(bakedFile);
  const root = commonDir([dir, ...[...parts.values()].flatMap((p) => (p.dir ? [p.dir] : []))]);
  const baked = (e: SafetensorsEntry): TensorProto =>
    tensorToProto(e.name, { dtype: e.dtype, dims: e.dims, external: { file: relativeFile(root, bakedFile), offset: e.begin, length: e.end - e.begin } });
  const models = Object.fromEntries(SD_PARTS.map((part) => {
    const { proto, dir: from } = parts.get(part)!;
    const initializer = (proto.graph?.initializer ?? []).map((t) => {
      const entry = entries.get(t.name ?? '');
      return entry ? baked(entry) : rebase(t, from, root);
    });
    const bytes = encodeModel({ ...proto, graph: { ...proto.graph, initializer } });
    return [part, () => ({ bytes })];
  })) as Record<SdPart, () => PartModel>;
  const id = `${model.id}+lora:${key.slice(0, 12)}`;
  return { model: new SdModel(id, model.config, model.tokenizer, models, model.loraTargets, root, undefined, model.sessionCache), key, cached, weights: entries.size };
}

async function readPart(graph: PartModel, weightsDir: string | undefined): Promise<Part> {
  const dir = weightsDir ?? ('path' in graph ? path.dirname(graph.path) : undefined);
  return { proto: decodeModel('bytes' in graph ? graph.bytes : await readFile(graph.path)), dir };
}

function findWeight(parts: Map<SdPart, Part>, key: string, modelId: string): GraphWeight {
  for (const { proto, dir } of parts.values()) {
    const found = proto.graph?.initializer?.find((t) => t.name === key);
    if (found) return { proto: found, dir };
  }
  throw new Error(`model "${modelId}" has no weight ${key} to bake into`);
}

function loraHash(lora: Lora): string {
  const hash = createHash('sha256');
  for (const m of lora.modules) {
    hash.update(`${m.name}:${m.alpha}:${m.down.dims.join(',')}:${m.up.dims.join(',')}\n`).update(bytesOfArray(m.down.data)).update(bytesOfArray(m.up.data));
  }
  return hash.digest('hex');
}

async function readWeight({ proto, dir }: GraphWeight, readers: Map<string, ExternalDataReader>): Promise<HostTensor> {
  const loc = externalLocation(proto);
  if (!loc) return tensorFromProto(proto);
  if (!dir) throw new Error(`weight ${proto.name} points into ${loc.file}, but the model has no weights folder`);
  let reader = readers.get(dir);
  if (!reader) readers.set(dir, (reader = new ExternalDataReader(dir)));
  const dtype = dtypeFromOnnx(proto.dataType ?? 0);
  return { dtype, dims: proto.dims ?? [], data: arrayFromBytes(dtype, await reader.read(loc)) };
}

function asDtype(t: HostTensor, dtype: HostTensor['dtype']): HostTensor {
  const data = t.data as Float32Array;
  if (dtype === 'float16') return { dtype, dims: t.dims, data: toFloat16(data) };
  if (dtype === 'bfloat16') return { dtype, dims: t.dims, data: toBfloat16(data) };
  return t;
}

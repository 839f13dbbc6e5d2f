// The float16 variant of an SD graph, for GPU providers (models/onnx/float16.ts does the conversion).
// Kept in float32: normalisation (GroupNorm's InstanceNormalization, LayerNorm: their statistics
// overflow float16), softmax, the UNet's sinusoidal timestep features (sin/cos of t * freq with t up to
// 1000: float16's spacing there is 0.5), and the VAE's attention, last blocks and pixel conversion.
import { decodeModel, encodeModel, type NodeProto } from '../onnx/index.ts';
import { toFloat16Model } from '../onnx/float16.ts';
import { ensureProviderChoice } from '../session/providers.ts';

export type Precision = 'fp32' | 'fp16';
export interface PartPrecision {
  precision: Precision;
  /**
   * 'speed' where the part's weights were folded to float32 at creation, 'int8' where its linear layers
   * run on 8-bit weights (FACECHAIN_SD_MEMORY).
   */
  memory?: 'speed' | 'int8';
  /** Why float16 was wanted but not used (one line). */
  refused?: string;
}

/**
 * The precision SD graphs are made in: FACECHAIN_PRECISION (fp16 or fp32) when set, else float16 on a
 * GPU provider (its kernels compute in float16, at half the memory) and float32 on the CPU (ORT's CPU
 * kernels compute float16 as float32 behind Casts: no gain there).
 */
export async function sdPrecision(env = process.env.FACECHAIN_PRECISION): Promise<Precision> {
  if (env?.trim()) {
    const p = env.trim().toLowerCase();
    if (p !== 'fp16' && p !== 'fp32') throw new Error(`FACECHAIN_PRECISION: fp16 or fp32 (got "${env}")`);
    return p;
  }
  return (await ensureProviderChoice()).provider === 'cpu' ? 'fp32' : 'fp16';
}

/** How SD sessions on the CPU trade memory, speed and exactness: lean (weights as stored), speed (float32 copies) or int8. */
export type SdMemory = 'lean' | 'speed' | 'int8';
const SD_MEMORY: readonly SdMemory[] = ['lean', 'speed', 'int8'];

/**
 * FACECHAIN_SD_MEMORY: `lean` (the default) keeps weights in the checkpoint's precision; `speed` folds
 * the UNet's and VAE decoder's weights to float32 at session creation on the CPU provider, for ORT's
 * NCHWc convolutions and no Casts per step (faster steps and decodes, about 2 GB more); `int8` runs the
 * UNet's transformer linear layers on 8-bit weights with int8 compute (models/sd/int8.ts: faster steps,
 * less memory, not exact) and the VAE decoder as speed does.
 */
export function sdMemory(env = memoryFlag ?? process.env.FACECHAIN_SD_MEMORY): SdMemory {
  const m = env?.trim().toLowerCase() || 'lean';
  if (!SD_MEMORY.includes(m as SdMemory)) throw new Error(`FACECHAIN_SD_MEMORY / --sd-memory: lean, speed or int8 (got "${env}")`);
  return m as SdMemory;
}

let memoryFlag: string | undefined;

/** `--sd-memory` of serve, run and worker (wins over FACECHAIN_SD_MEMORY), both checked before any work. */
export function configureSdMemory(flag: string | undefined): void {
  sdMemory(flag);
  memoryFlag = flag;
}

const FLOAT32_OPS = new Set(['InstanceNormalization', 'LayerNormalization', 'GroupNormalization', 'Softmax', 'Sin', 'Cos']);

const latest = new Map<string, PartPrecision>();

/** Records the precision an SD part's session was last made in (SdModel does, per part). */
export function recordPrecision(part: string, p: PartPrecision): void {
  latest.set(part, p);
}

/** The precision each SD part's latest session was made in, and why fp16 was refused where it was. */
export function partPrecisions(): Record<string, PartPrecision> {
  return Object.fromEntries(latest);
}

/** Node-name prefixes computed in float32 (names are `scope/OpType`). */
const FLOAT32_SCOPES = [
  'model.diffusion_model.time_embed/',
  'first_stage_model/',
  'first_stage_model.quant_conv/',
  'first_stage_model.post_quant_conv/',
  'first_stage_model.decoder.mid.attn_1',
  'first_stage_model.decoder.norm_out',
  'first_stage_model.decoder/',
  'first_stage_model.decoder.conv_out',
  'first_stage_model.encoder.mid.attn_1',
  'first_stage_model.encoder.norm_out',
  'first_stage_model.encoder/',
  'first_stage_model.encoder.conv_out',
];

export function keepsFloat32(node: NodeProto): boolean {
  const name = node.name ?? '';
  return FLOAT32_OPS.has(node.opType ?? '') || FLOAT32_SCOPES.some((p) => name.startsWith(p));
}

/** The float16 variant of an SD graph's ONNX bytes; inputs and outputs keep their types. */
export function float16Graph(model: Uint8Array): Uint8Array {
  return encodeModel(toFloat16Model(decodeModel(model), keepsFloat32));
}

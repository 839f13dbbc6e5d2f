// A training checkpoint: the LoRA, the optimiser's moments and the step, in one safetensors file.
// Every random draw of step k comes from a generator seeded by (seed, k), so the step count is all
// the randomness a resumed run needs.
import { existsSync } from 'node:fs';
import type { HostTensor } from '../onnx/index.ts';
import { readSafetensors, writeSafetensors } from '../safetensors.ts';
import type { LoraParams } from './lora-params.ts';
import type { LossScaleState } from './loss-scale.ts';

export interface TrainingState {
  /** Optimiser steps done. */
  step: number;
  params: LoraParams;
  /** Optimiser state by tensor name (e.g. `m.<target>.A`), same sizes as the params. */
  moments: Map<string, Float32Array>;
  /** Optimiser updates done: `step` less the steps mixed precision skipped for overflow. */
  updates: number;
  /** Mixed precision's loss scale. */
  lossScale?: LossScaleState;
}

const f32 = (data: Float32Array): HostTensor => ({ dtype: 'float32', dims: [data.length], data });

/**
 * Writes the state atomically. `fingerprint` names the settings that must match on resume (model,
 * dataset, rank, targets, ...): a checkpoint of another run is refused rather than silently mixed in.
 */
export async function saveTrainingState(file: string, state: TrainingState, fingerprint: string): Promise<void> {
  const tensors = new Map<string, HostTensor>();
  for (const m of state.params.modules) {
    tensors.set(`${m.target.name}.A`, f32(m.a));
    tensors.set(`${m.target.name}.B`, f32(m.b));
  }
  for (const [name, data] of state.moments) tensors.set(`moment.${name}`, f32(data));
  await writeSafetensors(file, tensors, {
    'facechain.step': String(state.step),
    'facechain.fingerprint': fingerprint,
    'facechain.rank': String(state.params.rank),
    'facechain.alpha': String(state.params.alpha),
    'facechain.updates': String(state.updates),
    ...(state.lossScale ? { 'facechain.lossScale': String(state.lossScale.scale), 'facechain.goodSteps': String(state.lossScale.goodSteps) } : {}),
  });
}

/**
 * Restores `state` in place from `file` when it exists and was written by the same settings; returns
 * whether it did.
 */
export async function loadTrainingState(file: string, state: TrainingState, fingerprint: string): Promise<boolean> {
  if (!existsSync(file)) return false;
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata['facechain.fingerprint'] !== fingerprint) {
    throw new Error(`training checkpoint ${file} was written with other settings; delete it or set the same params to resume`);
  }
  const take = (name: string, into: Float32Array) => {
    const t = tensors.get(name);
    if (!t || t.data.length !== into.length) throw new Error(`training checkpoint ${file}: tensor ${name} is missing or has another size`);
    into.set(t.data as Float32Array);
  };
  for (const m of state.params.modules) {
    take(`${m.target.name}.A`, m.a);
    take(`${m.target.name}.B`, m.b);
  }
  for (const [name, data] of state.moments) take(`moment.${name}`, data);
  state.step = Number(metadata['facechain.step']);
  // Checkpoints from before mixed precision: every step was an update.
  state.updates = metadata['facechain.updates'] === undefined ? state.step : Number(metadata['facechain.updates']);
  if (state.lossScale && metadata['facechain.lossScale'] !== undefined) {
    state.lossScale.scale = Number(metadata['facechain.lossScale']);
    state.lossScale.goodSteps = Number(metadata['facechain.goodSteps'] ?? 0);
  }
  return true;
}

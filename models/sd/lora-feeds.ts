import type { HostTensor } from '../onnx/index.ts';
import type { Feeds } from '../session/tensors.ts';
import { loraInputNames, type LoraTarget } from './lora-targets.ts';

/**
 * One target's low-rank branch in the graph's orientation (y = x·Wᵀ + x·A·B): A [in, rank] and
 * B [rank, out] row-major, with the LoRA scale (alpha/rank * strength) already folded into one of them.
 * A kohya file's lora_down [rank, in] is Aᵀ and lora_up [out, rank] is Bᵀ.
 */
export interface LoraBranch {
  rank: number;
  a: Float32Array;
  b: Float32Array;
}

/** Branches by kohya module name (targets not in the map run with rank 0). */
export type LoraBranches = ReadonlyMap<string, LoraBranch>;

/** The A/B feeds of every target of a graph for the given branches. */
export function loraFeeds(targets: readonly LoraTarget[], branches?: LoraBranches): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const t of targets) {
    const names = loraInputNames(t);
    const branch = branches?.get(t.name);
    const rank = branch?.rank ?? 0;
    if (branch && (branch.a.length !== t.in * rank || branch.b.length !== rank * t.out)) {
      throw new Error(`LoRA ${t.name}: rank ${rank} needs A ${t.in}x${rank} and B ${rank}x${t.out}`);
    }
    feeds[names.a] = { dtype: 'float32', dims: [t.in, rank], data: branch?.a ?? new Float32Array(0) };
    feeds[names.b] = { dtype: 'float32', dims: [rank, t.out], data: branch?.b ?? new Float32Array(0) };
  }
  return feeds;
}

/**
 * The feeds with every rank-0 LoRA branch (A [in, 0], B [0, out]) widened to rank 1 of zeros, which
 * adds exactly nothing. GPU providers need it: ORT's WebGPU provider crashes the process (SIGSEGV,
 * measured on Mesa lavapipe) on the empty tensors of a rank-0 branch; the CPU keeps rank 0, which
 * skips the branch's work.
 */
export function withoutEmptyBranches(feeds: Feeds): Feeds {
  const out = { ...feeds };
  for (const [name, t] of Object.entries(feeds)) {
    const [rows = 0, cols = 0] = t.dims;
    if (t.dims.length !== 2 || ('dtype' in t ? t.dtype : t.type) !== 'float32') continue;
    if (name.endsWith('.A') && cols === 0) out[name] = { dtype: 'float32', dims: [rows, 1], data: new Float32Array(rows) };
    if (name.endsWith('.B') && rows === 0) out[name] = { dtype: 'float32', dims: [1, cols], data: new Float32Array(cols) };
  }
  return out;
}

// The LoRA being trained: one A [in, rank] and B [rank, out] per target module, in the graph's
// orientation (y = x·Wᵀ + scale·x·A·B), initialised as diffusers' attention processors (FaceChain's code)
// or as kohya and PEFT do.
import type { Rng } from '../../runtime/rng.ts';
import type { Lora, LoraModule } from '../lora/schema.ts';
import type { LoraBranches } from '../sd/lora-feeds.ts';
import type { LoraTarget } from '../sd/lora-targets.ts';

export interface TrainedModule {
  target: LoraTarget;
  a: Float32Array;
  b: Float32Array;
}

export interface LoraParams {
  rank: number;
  alpha: number;
  modules: TrainedModule[];
}

const ATTENTION = /(_attn[12]_(to_q|to_k|to_v|to_out_0)|_self_attn_(q|k|v|out)_proj)$/;

/** Which modules get LoRA: FaceChain trains attention q/k/v/out only; `all` is every kohya target (adds feed-forward/MLP and proj_in/out). */
export type TargetSet = 'attention' | 'all';

export function selectTargets(targets: readonly LoraTarget[], set: TargetSet): LoraTarget[] {
  return set === 'all' ? [...targets] : targets.filter((t) => ATTENTION.test(t.name));
}

/**
 * How the down weight A starts: `normal` draws N(0, (1/rank)²), as diffusers' LoRALinearLayer (the
 * attention processors FaceChain's trainer uses); `kaiming` draws uniform in ±1/sqrt(in) (kaiming-uniform
 * with a = sqrt(5), as kohya and PEFT). B starts at 0 either way, so training starts from the unchanged model.
 */
export const LORA_INITS = ['normal', 'kaiming'] as const;
export type LoraInit = (typeof LORA_INITS)[number];

export function initLoraParams(targets: readonly LoraTarget[], rank: number, alpha: number, rng: Rng, init: LoraInit = 'normal'): LoraParams {
  const modules = targets.map((target) => {
    const a = new Float32Array(target.in * rank);
    if (init === 'normal') {
      rng.fillNormal(a);
      for (let i = 0; i < a.length; i++) a[i]! /= rank;
    } else {
      const bound = 1 / Math.sqrt(target.in);
      for (let i = 0; i < a.length; i++) a[i] = rng.range(-bound, bound);
    }
    return { target, a, b: new Float32Array(rank * target.out) };
  });
  return { rank, alpha, modules };
}

/** The sampler's branches for these params: scale alpha/rank folded into B (copies; params stay as they are). */
export function loraBranches(params: LoraParams, weight = 1): LoraBranches {
  const scale = (weight * params.alpha) / params.rank;
  return new Map(params.modules.map((m) => [m.target.name, { rank: params.rank, a: m.a, b: m.b.map((v) => v * scale) }]));
}

/** A [in, r] row-major -> [r, in] row-major (and the same for B -> up). */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/** The trained LoRA as a LORA value in kohya layout (down = Aᵀ, up = Bᵀ; 1x1 convs keep their conv dims). */
export function toLora(params: LoraParams, info: { name: string; source: string; base: string; metadata: Record<string, string> }): Lora {
  const { rank, alpha } = params;
  const modules: LoraModule[] = params.modules.map(({ target, a, b }) => {
    const conv = target.kind === 'conv1x1' ? [1, 1] : [];
    return {
      name: target.name,
      down: { dtype: 'float32', dims: [rank, target.in, ...conv], data: transpose(a, target.in, rank) },
      up: { dtype: 'float32', dims: [target.out, rank, ...conv], data: transpose(b, rank, target.out) },
      alpha,
    };
  });
  return { ...info, format: 'kohya', modules, ignoredKeys: [] };
}

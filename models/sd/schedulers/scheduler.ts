import { LinearLatent } from './linear-latent.ts';

/** Latents as schedulers step them: host arrays, or combinations of tensors held elsewhere (LinearLatent). */
export type Latents = Float32Array | LinearLatent;

/**
 * What the sampling loop needs from a scheduler. One instance covers one sampling run (multistep
 * schedulers keep history), already cut to the img2img strength.
 */
export interface Scheduler {
  /** UNet timestep of each model call, in call order (fractional for the sigma-interpolating kinds). */
  readonly timesteps: readonly number[];
  /** Pure noise is multiplied by this to start txt2img. */
  readonly initNoiseSigma: number;
  /** Factor applied to the latent before the UNet sees it at call i. */
  inputScale(i: number): number;
  /** Noises a clean latent to the level of the first call (img2img); returns a new array. */
  addNoise(clean: Float32Array, noise: Float32Array): Float32Array;
  /**
   * Noises a clean latent to the level the latent has after call i (masked sampling re-noises the kept
   * region to it every step); the last call's level is the clean latent itself. Returns a new array.
   */
  noiseAfter(i: number, clean: Float32Array, noise: Float32Array): Float32Array;
  /**
   * The latent after call i from the latent before it and the UNet's noise prediction (epsilon).
   * `noise` gives fresh standard normal noise for ancestral/consistency steps. Returns a new array, or
   * the combination that makes it when given LinearLatents.
   */
  step<T extends Latents>(i: number, x: T, eps: T, noise: () => T): T;
}

/**
 * diffusers' img2img cut (`get_timesteps`): of `steps` inference steps, the last floor(steps*strength)
 * run. Returns the index of the first step that runs.
 */
export function firstStep(steps: number, strength: number): number {
  const run = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - run, 0);
}

/** out = a*x + b*y, elementwise. */
export function axpby<T extends Latents>(a: number, x: T, b: number, y: T): T {
  return combine([a, b], [x, y]);
}

/** out = Σ weights[j] * arrays[j], elementwise. */
export function combine<T extends Latents>(weights: readonly number[], arrays: readonly T[]): T {
  if (arrays[0] instanceof LinearLatent) return LinearLatent.sum(arrays.map((l, j) => [weights[j]!, l as LinearLatent] as const)) as T;
  const host = arrays as readonly Float32Array[];
  if (host.length === 2) return hostAxpby(weights[0]!, host[0]!, weights[1]!, host[1]!) as T;
  const out = new Float32Array(host[0]!.length);
  for (let j = 0; j < host.length; j++) {
    const w = weights[j]!;
    const a = host[j]!;
    for (let k = 0; k < out.length; k++) out[k]! += w * a[k]!;
  }
  return out as T;
}

function hostAxpby(a: number, x: Float32Array, b: number, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = a * x[k]! + b * y[k]!;
  return out;
}

import { axpby, combine, firstStep, type Latents, type Scheduler } from './scheduler.ts';
import type { NoiseSchedule } from './noise-schedule.ts';

/**
 * The discrete-timestep schedulers that work on sqrt(acp)-scaled latents (DDPM view): DDIM, PNDM's PLMS
 * and LCM. Their UNet input needs no scaling and pure noise enters unscaled.
 */
abstract class AlphaScheduler implements Scheduler {
  readonly initNoiseSigma = 1;
  abstract readonly timesteps: readonly number[];
  constructor(protected readonly schedule: NoiseSchedule) {}

  inputScale(): number {
    return 1;
  }

  addNoise(clean: Float32Array, noise: Float32Array): Float32Array {
    return this.noiseAt(this.timesteps[0]!, clean, noise);
  }

  noiseAfter(i: number, clean: Float32Array, noise: Float32Array): Float32Array {
    // Each call leaves the latent at the next call's timestep (PNDM's repeated first call included).
    return i + 1 < this.timesteps.length ? this.noiseAt(this.timesteps[i + 1]!, clean, noise) : clean.slice();
  }

  private noiseAt(t: number, clean: Float32Array, noise: Float32Array): Float32Array {
    const acp = this.schedule.alphasCumprod[t]!;
    return axpby(Math.sqrt(acp), clean, Math.sqrt(1 - acp), noise);
  }

  /** acp at a timestep; negative timesteps (past the end) use acp[0], as with set_alpha_to_one=false. */
  protected acp(t: number): number {
    return this.schedule.alphasCumprod[Math.max(t, 0)]!;
  }

  abstract step<T extends Latents>(i: number, x: T, eps: T, noise: () => T): T;
}

/**
 * diffusers' "leading" spacing with steps_offset=1 (SD1.5's scheduler_config): t = k*floor(1000/steps) + 1
 * for k = steps-1 .. 0.
 */
export function leadingTimesteps(trainSteps: number, steps: number, offset = 1): number[] {
  const ratio = Math.floor(trainSteps / steps);
  return Array.from({ length: steps }, (_, k) => (steps - 1 - k) * ratio + offset);
}

/** DDIM with eta = 0 (deterministic), leading spacing, steps_offset 1, set_alpha_to_one false. */
export class DdimScheduler extends AlphaScheduler {
  readonly timesteps: readonly number[];
  private readonly ratio: number;

  constructor(schedule: NoiseSchedule, steps: number, strength = 1) {
    super(schedule);
    this.ratio = Math.floor(schedule.trainSteps / steps);
    this.timesteps = leadingTimesteps(schedule.trainSteps, steps).slice(firstStep(steps, strength));
  }

  step<T extends Latents>(i: number, x: T, eps: T): T {
    const t = this.timesteps[i]!;
    const a = this.acp(t);
    const aPrev = this.acp(t - this.ratio);
    // x0 = (x - sqrt(1-a) eps) / sqrt(a); x_prev = sqrt(aPrev) x0 + sqrt(1-aPrev) eps
    const cx = Math.sqrt(aPrev / a);
    const ce = Math.sqrt(1 - aPrev) - Math.sqrt(aPrev) * Math.sqrt(1 - a) / Math.sqrt(a);
    return axpby(cx, x, ce, eps);
  }
}

/**
 * PNDM as SD1.5 ships it (skip_prk_steps: linear multistep "PLMS" only). The first timestep is
 * evaluated twice: once for a plain step, once more at the next level to average the two predictions
 * (a second-order start); then 2-, 3- and 4-step Adams-Bashforth combinations of past predictions.
 * So `steps` inference steps cost steps+1 UNet calls.
 */
export class PndmScheduler extends AlphaScheduler {
  readonly timesteps: readonly number[];
  private readonly ratio: number;
  private readonly history: Latents[] = [];
  private startSample: Latents | undefined;

  constructor(schedule: NoiseSchedule, steps: number, strength = 1) {
    super(schedule);
    this.ratio = Math.floor(schedule.trainSteps / steps);
    const ts = leadingTimesteps(schedule.trainSteps, steps).slice(firstStep(steps, strength));
    this.timesteps = ts.length > 1 ? [ts[0]!, ts[1]!, ...ts.slice(1)] : ts;
  }

  step<T extends Latents>(i: number, x: T, eps: T): T {
    let t = this.timesteps[i]!;
    let prev = t - this.ratio;
    let e = eps;
    let sample = x;
    // The history holds the latents of this run, all of the kind T.
    const h = this.history as T[];
    if (i === 1) {
      // The repeated call: redo the first step from the first sample with the averaged prediction.
      prev = t;
      t = t + this.ratio;
      e = axpby(0.5, eps, 0.5, h[0]!);
      sample = this.startSample as T;
      this.startSample = undefined;
    } else {
      h.push(eps);
      if (h.length > 4) h.shift();
      const n = h.length;
      if (n === 1) this.startSample = x;
      else if (n === 2) e = axpby(1.5, h[1]!, -0.5, h[0]!);
      else if (n === 3) e = combine([23 / 12, -16 / 12, 5 / 12], [h[2]!, h[1]!, h[0]!]);
      else e = combine([55 / 24, -59 / 24, 37 / 24, -9 / 24], [h[3]!, h[2]!, h[1]!, h[0]!]);
    }
    return this.previous(sample, t!, prev, e);
  }

  /** PNDM paper eq. (9): the transfer from timestep t to prev for a given noise prediction. */
  private previous<T extends Latents>(x: T, t: number, prev: number, eps: T): T {
    const a = this.acp(t);
    const aPrev = this.acp(prev);
    const cx = Math.sqrt(aPrev / a);
    const denom = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
    return axpby(cx, x, -(aPrev - a) / denom, eps);
  }
}


/**
 * Latent Consistency Model sampling (for LCM-distilled UNets or LCM-LoRA): timesteps picked from the
 * 50-step distillation grid (999, 979, ..., 19), each step predicts the clean latent through the
 * consistency boundary conditions and re-noises it to the next timestep.
 */
export class LcmScheduler extends AlphaScheduler {
  readonly timesteps: readonly number[];

  constructor(schedule: NoiseSchedule, steps: number, strength = 1, originalSteps = 50) {
    super(schedule);
    if (steps > originalSteps) throw new Error(`LCM takes at most ${originalSteps} steps, got ${steps}`);
    const k = Math.floor(schedule.trainSteps / originalSteps);
    // Like diffusers: strength shortens the grid the steps are picked from.
    const gridLength = Math.floor(originalSteps * strength);
    const grid = Array.from({ length: gridLength }, (_, j) => (gridLength - j) * k - 1);
    this.timesteps = Array.from({ length: Math.min(steps, gridLength) }, (_, j) => grid[Math.floor((j * gridLength) / steps)]!);
  }

  step<T extends Latents>(i: number, x: T, eps: T, noise: () => T): T {
    const t = this.timesteps[i]!;
    const a = this.acp(t);
    // Boundary conditions with sigma_data = 0.5 and timestep scaling 10.
    const st = 10 * t;
    const cSkip = 0.25 / (st * st + 0.25);
    const cOut = st / Math.sqrt(st * st + 0.25);
    const x0 = axpby(1 / Math.sqrt(a), x, -Math.sqrt(1 - a) / Math.sqrt(a), eps);
    const denoised = axpby(cOut, x0, cSkip, x);
    if (i === this.timesteps.length - 1) return denoised;
    const aPrev = this.acp(this.timesteps[i + 1]!);
    return axpby(Math.sqrt(aPrev), denoised, Math.sqrt(1 - aPrev), noise());
  }
}

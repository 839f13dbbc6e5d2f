import { axpby, firstStep, type Latents, type Scheduler } from './scheduler.ts';
import {
  karrasSigmas, linspace, roundHalfEven, sigmaAt, timestepOfSigma, type NoiseSchedule,
} from './noise-schedule.ts';

/** How the noise levels of the inference steps are spread. */
export type SigmaSpacing = 'normal' | 'karras';

/**
 * The schedulers that work in the sigma view (x = x0 + sigma*noise, as k-diffusion): Euler, Euler
 * ancestral and DPM++ 2M. The UNet sees x / sqrt(sigma^2 + 1); its timestep is the one whose training
 * sigma matches.
 */
abstract class SigmaScheduler implements Scheduler {
  /** Noise level before each call, plus a final 0. */
  readonly sigmas: readonly number[];
  readonly timesteps: readonly number[];

  constructor(levels: { sigmas: number[]; timesteps: number[] }, steps: number, strength: number) {
    const start = firstStep(steps, strength);
    this.sigmas = levels.sigmas.slice(start);
    this.timesteps = levels.timesteps.slice(start);
  }

  get initNoiseSigma(): number {
    return this.sigmas[0]!;
  }

  inputScale(i: number): number {
    return 1 / Math.sqrt(this.sigmas[i]! ** 2 + 1);
  }

  addNoise(clean: Float32Array, noise: Float32Array): Float32Array {
    return axpby(1, clean, this.sigmas[0]!, noise);
  }

  noiseAfter(i: number, clean: Float32Array, noise: Float32Array): Float32Array {
    return axpby(1, clean, this.sigmas[i + 1]!, noise);
  }

  abstract step<T extends Latents>(i: number, x: T, eps: T, noise: () => T): T;
}

/**
 * diffusers EulerDiscreteScheduler's levels: "linspace" timestep spacing (its default; fractional
 * timesteps 999 .. 0) with sigma interpolated linearly, or Karras sigmas with their log-interpolated
 * fractional timesteps.
 */
export function eulerLevels(schedule: NoiseSchedule, steps: number, spacing: SigmaSpacing) {
  const last = schedule.trainSteps - 1;
  if (spacing === 'karras') {
    const sigmas = karrasSigmas(schedule, steps);
    return { sigmas: [...sigmas, 0], timesteps: sigmas.map((s) => timestepOfSigma(schedule, s)) };
  }
  const timesteps = linspace(0, last, steps).reverse();
  return { sigmas: [...timesteps.map((t) => sigmaAt(schedule, t)), 0], timesteps };
}

/**
 * diffusers DPMSolverMultistepScheduler's levels: "linspace" spacing on integer timesteps
 * (round(linspace(0, 999, steps+1)) reversed, last dropped), or Karras sigmas whose timesteps are
 * rounded to integers. final_sigmas_type "zero".
 */
export function dpmLevels(schedule: NoiseSchedule, steps: number, spacing: SigmaSpacing) {
  if (spacing === 'karras') {
    const sigmas = karrasSigmas(schedule, steps);
    return { sigmas: [...sigmas, 0], timesteps: sigmas.map((s) => roundHalfEven(timestepOfSigma(schedule, s))) };
  }
  const timesteps = linspace(0, schedule.trainSteps - 1, steps + 1).map(roundHalfEven).reverse().slice(0, steps);
  return { sigmas: [...timesteps.map((t) => schedule.sigmas[t]!), 0], timesteps };
}

/** Euler's method on the probability-flow ODE: the noise prediction is the slope dx/dsigma. */
export class EulerScheduler extends SigmaScheduler {
  constructor(schedule: NoiseSchedule, steps: number, spacing: SigmaSpacing = 'normal', strength = 1) {
    super(eulerLevels(schedule, steps, spacing), steps, strength);
  }

  step<T extends Latents>(i: number, x: T, eps: T): T {
    return axpby(1, x, this.sigmas[i + 1]! - this.sigmas[i]!, eps);
  }
}

/** Euler ancestral (eta 1): step down past the next level, then add fresh noise back up to it. */
export class EulerAncestralScheduler extends SigmaScheduler {
  constructor(schedule: NoiseSchedule, steps: number, spacing: SigmaSpacing = 'normal', strength = 1) {
    super(eulerLevels(schedule, steps, spacing), steps, strength);
  }

  step<T extends Latents>(i: number, x: T, eps: T, noise: () => T): T {
    const from = this.sigmas[i]!;
    const to = this.sigmas[i + 1]!;
    const up = Math.sqrt((to * to * (from * from - to * to)) / (from * from));
    const down = Math.sqrt(to * to - up * up);
    const moved = axpby(1, x, down - from, eps);
    return up > 0 ? axpby(1, moved, up, noise()) : moved;
  }
}

/**
 * DPM-Solver++(2M): second-order multistep on the denoised prediction in log-sigma time. The first
 * step and the step to sigma 0 are first order (diffusers' lower_order_final with final sigma zero).
 */
export class DpmPp2mScheduler extends SigmaScheduler {
  private previousDenoised: Latents | undefined;

  constructor(schedule: NoiseSchedule, steps: number, spacing: SigmaSpacing = 'karras', strength = 1) {
    super(dpmLevels(schedule, steps, spacing), steps, strength);
  }

  /** diffusers keeps DPM++ latents alpha-scaled and starts from unit noise: sqrt(sigma^2+1) here. */
  override get initNoiseSigma(): number {
    return Math.sqrt(this.sigmas[0]! ** 2 + 1);
  }

  step<T extends Latents>(i: number, x: T, eps: T): T {
    const sigma = this.sigmas[i]!;
    const next = this.sigmas[i + 1]!;
    const denoised = axpby(1, x, -sigma, eps);
    const old = this.previousDenoised as T | undefined;
    this.previousDenoised = denoised;
    if (next === 0) return denoised;
    const h = Math.log(sigma) - Math.log(next);
    const ratio = next / sigma;
    const c = -Math.expm1(-h);
    if (!old) return axpby(ratio, x, c, denoised);
    const hLast = Math.log(this.sigmas[i - 1]!) - Math.log(sigma);
    const r = hLast / h;
    const d = axpby(1 + 1 / (2 * r), denoised, -1 / (2 * r), old);
    return axpby(ratio, x, c, d);
  }
}

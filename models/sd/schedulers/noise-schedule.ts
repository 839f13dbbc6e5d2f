/**
 * SD1.5's training noise schedule: "scaled_linear" betas (linspace of sqrt(beta) from 0.00085 to 0.012,
 * squared) over 1000 steps, as in the checkpoint's v1-inference.yaml and diffusers' scheduler_config.json.
 */
export interface NoiseSchedule {
  trainSteps: number;
  /** Cumulative product of (1 - beta), index = training timestep. */
  alphasCumprod: Float64Array;
  /** sqrt((1 - acp) / acp): the noise level of each training timestep in the sigma (k-diffusion) view. */
  sigmas: Float64Array;
  logSigmas: Float64Array;
}

export interface NoiseScheduleConfig {
  betaStart: number;
  betaEnd: number;
  trainSteps: number;
}

export const SD15_NOISE: NoiseScheduleConfig = { betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 };

export function noiseSchedule(config: NoiseScheduleConfig = SD15_NOISE): NoiseSchedule {
  const n = config.trainSteps;
  const a = Math.sqrt(config.betaStart);
  const b = Math.sqrt(config.betaEnd);
  const alphasCumprod = new Float64Array(n);
  const sigmas = new Float64Array(n);
  const logSigmas = new Float64Array(n);
  let acp = 1;
  for (let i = 0; i < n; i++) {
    const beta = (a + ((b - a) * i) / (n - 1)) ** 2;
    acp *= 1 - beta;
    alphasCumprod[i] = acp;
    sigmas[i] = Math.sqrt((1 - acp) / acp);
    logSigmas[i] = Math.log(sigmas[i]!);
  }
  return { trainSteps: n, alphasCumprod, sigmas, logSigmas };
}

/** Sigma at a fractional timestep, interpolated linearly in sigma (diffusers Euler's "linear" mode). */
export function sigmaAt(schedule: NoiseSchedule, t: number): number {
  const s = schedule.sigmas;
  if (t <= 0) return s[0]!;
  if (t >= s.length - 1) return s[s.length - 1]!;
  const lo = Math.floor(t);
  const w = t - lo;
  return s[lo]! * (1 - w) + s[lo + 1]! * w;
}

/** Fractional timestep of a sigma, interpolated in log-sigma (diffusers' `_sigma_to_t`). */
export function timestepOfSigma(schedule: NoiseSchedule, sigma: number): number {
  const ls = schedule.logSigmas;
  const target = Math.log(sigma);
  if (target <= ls[0]!) return 0;
  if (target >= ls[ls.length - 1]!) return ls.length - 1;
  let lo = 0;
  let hi = ls.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ls[mid]! <= target) lo = mid;
    else hi = mid;
  }
  const w = (ls[lo]! - target) / (ls[lo]! - ls[hi]!);
  return lo + w;
}

/** Karras et al. (2022) rho=7 spacing between the schedule's extreme sigmas, high to low. */
export function karrasSigmas(schedule: NoiseSchedule, steps: number, rho = 7): number[] {
  const min = schedule.sigmas[0]!;
  const max = schedule.sigmas[schedule.sigmas.length - 1]!;
  const lo = min ** (1 / rho);
  const hi = max ** (1 / rho);
  return Array.from({ length: steps }, (_, i) => (hi + (steps === 1 ? 0 : i / (steps - 1)) * (lo - hi)) ** rho);
}

/**
 * `count` evenly spaced values from `start` to `end` inclusive, computed as numpy does (i * step + start,
 * last = end): timestep lists are rounded afterwards, so 499.49999 vs 499.5 matters.
 */
export function linspace(start: number, end: number, count: number): number[] {
  if (count === 1) return [start];
  const step = (end - start) / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? end : i * step + start));
}

/** Round half to even, as numpy's round does (the timestep lists depend on it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

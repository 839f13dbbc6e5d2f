// Every scheduler against diffusers' scheduler code (and k-diffusion's samplers where they exist), step by
// step, driven by a fixed non-linear denoiser: eps = tanh(M x_in + b t/1000), x_in the scaled model input.
import { describe, expect, it } from 'vitest';
import { createScheduler, SchedulerNameSchema, type SchedulerName } from '../../models/sd/schedulers/index.ts';
import { f32, fixture, PARITY_TOLERANCE, relativeError, report } from './parity-fixtures.ts';

const fx = await fixture('schedulers');
const M = f32(fx, 'denoiser_m');
const B = f32(fx, 'denoiser_b');
const NOISE = f32(fx, 'noise');
const D = B.length;
const noiseRow = (r: number) => NOISE.slice(r * D, (r + 1) * D);

function denoiser(xIn: Float32Array, t: number): Float32Array {
  const eps = new Float32Array(D);
  for (let i = 0; i < D; i++) {
    let s = B[i]! * (t / 1000);
    for (let j = 0; j < D; j++) s += M[i * D + j]! * xIn[j]!;
    eps[i] = Math.tanh(s);
  }
  return eps;
}

/**
 * Our sampling loop's use of a scheduler (as models/sd/sample.ts), latents after every step; with
 * strength < 1 from the fixture's clean latent, noised by the scheduler (img2img).
 */
function run(name: SchedulerName, steps: number, strength = 1): { timesteps: readonly number[]; latents: Float32Array[] } {
  const s = createScheduler({ name, steps, strength });
  let x: Float32Array = strength < 1 ? s.addNoise(f32(fx, 'clean'), noiseRow(0)) : noiseRow(0).map((v) => v * s.initNoiseSigma);
  const latents: Float32Array[] = [];
  s.timesteps.forEach((t, i) => {
    const scale = s.inputScale(i);
    x = s.step(i, x, denoiser(x.map((v) => v * scale), t), () => noiseRow(1 + i));
    latents.push(x);
  });
  return { timesteps: s.timesteps, latents };
}

/** The worst step's error, each step relative to that step's reference scale. */
function perStepError(ours: Float32Array[], reference: Float32Array): number {
  expect(ours.length * D).toBe(reference.length);
  return Math.max(...ours.map((x, i) => relativeError(x, reference.subarray(i * D, (i + 1) * D))));
}

const STEPS: Record<SchedulerName, number> = {
  ddim: 10, pndm: 10, euler: 10, euler_karras: 10, euler_a: 10, dpmpp_2m: 10, dpmpp_2m_karras: 10, lcm: 4,
};

describe('schedulers match diffusers step by step', () => {
  it.each(SchedulerNameSchema.options)('%s', (name) => {
    const { timesteps, latents } = run(name, STEPS[name]);
    const refTimesteps = f32(fx, `${name}.timesteps`);
    expect(timesteps.length).toBe(refTimesteps.length);
    // diffusers computes fractional timesteps in float32.
    timesteps.forEach((t, i) => expect(Math.abs(t - refTimesteps[i]!)).toBeLessThan(1e-2));
    const error = perStepError(latents, f32(fx, `${name}.diffusers`));
    report(`scheduler ${name} (${STEPS[name]} steps, every step)`, error, 'diffusers 58eb52c');
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });
});

describe('img2img (strength cut and noising) matches diffusers\' img2img pipeline step by step', () => {
  it.each(['ddim', 'euler', 'euler_a', 'dpmpp_2m_karras'] as const)('%s', (name) => {
    const strength = f32(fx, 'img2img_strength')[0]!;
    const { latents } = run(name, 10, strength);
    const error = perStepError(latents, f32(fx, `${name}.img2img`));
    report(`scheduler ${name} img2img (10 steps, strength ${strength.toFixed(1)}, every step)`, error, 'diffusers 58eb52c');
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });
});

describe('sigma schedulers match k-diffusion step by step', () => {
  it.each(['euler', 'euler_a', 'dpmpp_2m_karras'] as const)('%s', (name) => {
    const reference = f32(fx, `${name}.kdiffusion16`);
    const { latents } = run(name, reference.length / D);
    const error = perStepError(latents, reference);
    report(`scheduler ${name} (16 steps, every step)`, error, 'k-diffusion 4601bf0');
    expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });
});

it('the denoiser tells the solvers apart (a wrong coefficient shows far above the tolerance)', () => {
  const last = (name: string) => f32(fx, `${name}.diffusers`).subarray(9 * D, 10 * D);
  expect(relativeError(last('euler'), last('dpmpp_2m'))).toBeGreaterThan(100 * PARITY_TOLERANCE);
  expect(relativeError(last('ddim'), last('pndm'))).toBeGreaterThan(100 * PARITY_TOLERANCE);
});

// The AdamW graph against a plain float64 reference, clipping by the global norm, and the schedules.
import { describe, expect, it } from 'vitest';
import { adamwNames, buildAdamW, learningRate, LrScheduleSchema, type AdamWConfig } from '../../models/onnx/grad/index.ts';
import type { HostTensor } from '../../models/onnx/index.ts';
import { AdamWConfigSchema } from '../../models/onnx/grad/adamw.ts';
import { Rng } from '../../runtime/rng.ts';
import { randomTensor, runSession, session } from './grad-check.ts';

interface State { p: Float64Array; g: Float64Array; m: Float64Array; v: Float64Array }

/** AdamW as torch writes it (decoupled decay, bias correction), after clip_grad_norm_ over all tensors. */
function reference(states: State[], step: number, lr: number, c: AdamWConfig): { next: State[]; norm: number } {
  const norm = Math.sqrt(states.reduce((s, t) => s + t.g.reduce((a, x) => a + x * x, 0), 0))!;
  const clip = c.maxGradNorm > 0 ? Math.min(1, c.maxGradNorm / (norm + 1e-6)) : 1;
  const next = states.map(({ p, g, m, v }) => {
    const out = { p: new Float64Array(p.length), g, m: new Float64Array(p.length), v: new Float64Array(p.length) };
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! * clip;
      out.m[i] = c.beta1 * m[i]! + (1 - c.beta1) * gi;
      out.v[i] = c.beta2 * v[i]! + (1 - c.beta2) * gi * gi;
      const mHat = out.m[i]! / (1 - c.beta1 ** step);
      const vHat = out.v[i]! / (1 - c.beta2 ** step);
      out.p[i] = p[i]! * (1 - lr * c.weightDecay) - (lr * mHat) / (Math.sqrt(vHat) + c.epsilon);
    }
    return out;
  });
  return { next, norm };
}

async function compare(config: Partial<AdamWConfig>, gradScale: number) {
  const c = AdamWConfigSchema.parse(config);
  const rng = new Rng(11);
  const specs = [{ name: 'a', dims: [3, 4] }, { name: 'b', dims: [5] }];
  const tensors: Record<string, HostTensor> = { step: { dtype: 'float32', dims: [], data: Float32Array.of(3) }, lr: { dtype: 'float32', dims: [], data: Float32Array.of(0.05) } };
  const states = specs.map((s) => {
    const n = adamwNames(s.name);
    const p = randomTensor(s.dims, rng);
    const g = randomTensor(s.dims, rng, gradScale);
    const m = randomTensor(s.dims, rng, 0.1);
    const v = randomTensor(s.dims, rng, 0.01);
    (v.data as Float32Array).forEach((x, i, arr) => (arr[i] = Math.abs(x)));
    Object.assign(tensors, { [s.name]: p, [n.grad]: g, [n.m]: m, [n.v]: v });
    const f64 = (t: HostTensor) => Float64Array.from(t.data as Float32Array);
    return { p: f64(p), g: f64(g), m: f64(m), v: f64(v) };
  });
  const s = await session(buildAdamW(specs, config));
  const out = await runSession(s, tensors);
  await s.release();
  const ref = reference(states, 3, 0.05, c);
  let worst = 0;
  specs.forEach((spec, k) => {
    const n = adamwNames(spec.name);
    for (const [key, want] of [[n.newParam, ref.next[k]!.p], [n.newM, ref.next[k]!.m], [n.newV, ref.next[k]!.v]] as const) {
      (out[key]!.data as Float32Array).forEach((x, i) => (worst = Math.max(worst, Math.abs(x - want[i]!))));
    }
  });
  return { worst, norm: (out.grad_norm!.data as Float32Array)[0], refNorm: ref.norm, out, states };
}

describe('AdamW graph', () => {
  it('equals the float64 reference without clipping', async () => {
    const { worst, norm, refNorm } = await compare({ maxGradNorm: 0, weightDecay: 0.1 }, 0.5);
    expect(worst).toBeLessThan(1e-6);
    expect(norm).toBeCloseTo(refNorm, 5);
  });

  it('scales all gradients by max/‖g‖ when the global norm is above the limit', async () => {
    const { worst, norm, out, states } = await compare({ maxGradNorm: 0.5 }, 2);
    expect(norm).toBeGreaterThan(2);
    expect(worst).toBeLessThan(1e-6);
    // The first moment moved by (1 - β1)·g·0.5/‖g‖: recover the clipped g from it.
    const m = out[adamwNames('a').newM]!.data as Float32Array;
    const clipped = states[0]!.g.map((g, i) => (m[i]! - 0.9 * states[0]!.m[i]!) / 0.1 / g);
    for (const ratio of clipped) expect(ratio).toBeCloseTo(0.5 / norm!, 4);
  });

  it('leaves gradients under the limit as they are', async () => {
    const { worst, norm } = await compare({ maxGradNorm: 100 }, 0.1);
    expect(norm).toBeLessThan(100);
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('learning-rate schedules', () => {
  const at = (o: object, steps: number[]) => steps.map((s) => learningRate(LrScheduleSchema.parse(o), s));

  it('constant, with and without warm-up', () => {
    expect(at({ kind: 'constant', lr: 1e-4, totalSteps: 100 }, [0, 50, 99])).toEqual([1e-4, 1e-4, 1e-4]);
    const warm = at({ kind: 'constant', lr: 1e-4, totalSteps: 100, warmupSteps: 10 }, [0, 5, 10, 60]);
    expect(warm.map((x) => x / 1e-4)).toEqual([0, 0.5, 1, 1]);
  });

  it('cosine falls from lr to 0 over the steps after warm-up', () => {
    const lr = at({ kind: 'cosine', lr: 2, totalSteps: 110, warmupSteps: 10 }, [5, 10, 35, 60, 85, 110]);
    expect(lr[0]).toBeCloseTo(1, 12);
    expect(lr[1]).toBeCloseTo(2, 12);
    expect(lr[2]).toBeCloseTo(1 + Math.SQRT1_2, 12); // a quarter of the way: (1 + cos(π/4))
    expect(lr[3]).toBeCloseTo(1, 12);
    expect(lr[4]).toBeCloseTo(1 - Math.SQRT1_2, 12);
    expect(lr[5]).toBe(0);
  });

  it('cosine with restarts runs `cycles` full falls and jumps back to lr', () => {
    const lr = at({ kind: 'cosine_with_restarts', lr: 1, totalSteps: 100, cycles: 2 }, [0, 25, 49, 50, 75, 100]);
    expect(lr[0]).toBe(1);
    expect(lr[1]).toBeCloseTo(0.5, 12);
    expect(lr[2]).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.98)), 12);
    expect(lr[3]).toBe(1); // the restart
    expect(lr[4]).toBeCloseTo(0.5, 12);
    expect(lr[5]).toBe(0);
  });
});

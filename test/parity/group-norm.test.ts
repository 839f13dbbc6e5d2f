// The GroupNorm form our SD graphs emit (models/sd/layers.ts) against a float64 GroupNorm computed here,
// on the inputs where onnxruntime's GroupNormalization op loses precision: groups whose mean is large
// against their spread, and the VAE's 1M-element groups at 512x512.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type HostTensor } from '../../models/onnx/index.ts';
import { groupNorm } from '../../models/sd/layers.ts';
import { LoraInputs } from '../../models/sd/lora-targets.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { Rng } from '../../runtime/rng.ts';
import { PARITY_TOLERANCE, relativeError, report } from './parity-fixtures.ts';

const GROUPS = 32;
const EPS = 1e-6;

/** x = offset + spread·N(0,1) + a small per-channel shift, with per-channel scale and bias near 1 and 0. */
function inputs(dims: number[], offset: number, spread: number) {
  const rng = new Rng(5);
  const [, c = 0, h = 0, w = 0] = dims;
  const hw = h * w;
  const x = new Float32Array(c * hw);
  for (let i = 0; i < x.length; i++) x[i] = offset + spread * rng.normal() + 0.01 * Math.floor(i / hw);
  const weight = Float32Array.from({ length: c }, () => 1 + 0.1 * rng.normal());
  const bias = Float32Array.from({ length: c }, () => 0.1 * rng.normal());
  return { x, weight, bias };
}

/** Two-pass float64 GroupNorm (batch 1). */
function reference(x: Float32Array, c: number, weight: Float32Array, bias: Float32Array): Float64Array {
  const hw = x.length / c;
  const per = (c / GROUPS) * hw;
  const out = new Float64Array(x.length);
  for (let g = 0; g < GROUPS; g++) {
    let sum = 0;
    for (let i = g * per; i < (g + 1) * per; i++) sum += x[i]!;
    const mean = sum / per;
    let sq = 0;
    for (let i = g * per; i < (g + 1) * per; i++) sq += (x[i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / per + EPS);
    for (let i = g * per; i < (g + 1) * per; i++) {
      const ch = Math.floor(i / hw);
      out[i] = (x[i]! - mean) * inv * weight[ch]! + bias[ch]!;
    }
  }
  return out;
}

/** Our SD graphs' GroupNorm, or onnxruntime's GroupNormalization op for comparison. */
async function run(form: 'ours' | 'native', dims: number[], x: Float32Array, weight: Float32Array, bias: Float32Array) {
  const b = new GraphBuilder({ graphName: 'group-norm' });
  const c = dims[1];
  const input = b.input('x', 'float32', dims);
  const tensor = (data: Float32Array): HostTensor => ({ dtype: 'float32', dims: [c!], data });
  const weights = new TensorWeights(new Map([['norm.weight', tensor(weight)], ['norm.bias', tensor(bias)]]));
  const ctx = { b, weights, lora: new LoraInputs(false), attention: 'fused' as const, loraName: () => undefined };
  const y = form === 'ours'
    ? groupNorm(ctx, input, 'norm', c!, GROUPS, EPS)
    : b.groupNorm(input, b.initializer('w', weight, [c!]), b.initializer('b', bias, [c!]), { groups: GROUPS, epsilon: EPS, impl: 'native' });
  b.output(y, 'y');
  const session = await PartSession.create(b.toBytes());
  try {
    return (await session.run({ x: { dtype: 'float32', dims, data: x } })).y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('GroupNorm precision of the form our SD graphs emit', () => {
  const cases = [
    { label: 'mean offset 20, spread 0.5 (64 channels, 32x32)', dims: [1, 64, 32, 32], offset: 20, spread: 0.5 },
    { label: 'VAE at 512x512: 1M-element groups (128 channels), offset 3', dims: [1, 128, 512, 512], offset: 3, spread: 0.5 },
  ];
  it.each(cases)('$label', async ({ label, dims, offset, spread }) => {
    const { x, weight, bias } = inputs(dims, offset, spread);
    const expected = reference(x, dims[1]!, weight, bias);
    const ours = relativeError(await run('ours', dims, x, weight, bias), expected);
    const native = relativeError(await run('native', dims, x, weight, bias), expected);
    report(`GroupNorm ${label}`, ours, `float64 (onnxruntime's GroupNormalization op: ${native.toExponential(2)})`);
    expect(ours).toBeLessThanOrEqual(PARITY_TOLERANCE);
  }, 300_000);
});

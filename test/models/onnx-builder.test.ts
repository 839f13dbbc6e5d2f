// Graphs built with GraphBuilder run in onnxruntime-node and match plain-JS references.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type HostTensor } from '../../models/onnx/index.ts';
import { ort } from '../../models/session/ort.ts';
import { fromOrtTensor, toOrtTensor } from '../../models/session/tensors.ts';

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

async function run(b: GraphBuilder, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await ort.InferenceSession.create(b.toBytes());
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrtTensor(v)])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromOrtTensor(v)]));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tol);
}

// ---- JS references --------------------------------------------------------------------------

function conv2dRef(x: Float32Array, [n, c, h, w]: number[], wt: Float32Array, o: number, k: number, bias: Float32Array, pad: number): Float32Array {
  const out = new Float32Array(n! * o * h! * w!);
  for (let b = 0; b < n!; b++) for (let oc = 0; oc < o; oc++) for (let i = 0; i < h!; i++) for (let j = 0; j < w!; j++) {
    let acc = bias[oc]!;
    for (let ic = 0; ic < c!; ic++) for (let ki = 0; ki < k; ki++) for (let kj = 0; kj < k; kj++) {
      const y = i + ki - pad;
      const xx = j + kj - pad;
      if (y < 0 || y >= h! || xx < 0 || xx >= w!) continue;
      acc += x[((b * c! + ic) * h! + y) * w! + xx]! * wt[((oc * c! + ic) * k + ki) * k + kj]!;
    }
    out[((b * o + oc) * h! + i) * w! + j] = acc;
  }
  return out;
}

function groupNormRef(x: Float32Array, [n, c, h, w]: number[], groups: number, scale: Float32Array, bias: Float32Array, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  const per = (c! / groups) * h! * w!;
  for (let b = 0; b < n!; b++) for (let g = 0; g < groups; g++) {
    const start = (b * c! + g * (c! / groups)) * h! * w!;
    let mean = 0;
    for (let i = 0; i < per; i++) mean += x[start + i]!;
    mean /= per;
    let v = 0;
    for (let i = 0; i < per; i++) v += (x[start + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / per + eps);
    for (let i = 0; i < per; i++) {
      const ch = g * (c! / groups) + Math.floor(i / (h! * w!));
      out[start + i] = (x[start + i]! - mean) * inv * scale[ch]! + bias[ch]!;
    }
  }
  return out;
}

function layerNormRef(x: Float32Array, rows: number, d: number, scale: Float32Array, bias: Float32Array, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mean = row.reduce((a, b) => a + b, 0) / d;
    const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
    for (let i = 0; i < d; i++) out[r * d + i] = ((row[i]! - mean) / Math.sqrt(v + eps)) * scale[i]! + bias[i]!;
  }
  return out;
}

function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, heads: number, lq: number, lk: number, d: number): Float32Array {
  const out = new Float32Array(heads * lq * d);
  for (let h = 0; h < heads; h++) for (let i = 0; i < lq; i++) {
    const scores = Array.from({ length: lk }, (_, j) => {
      let s = 0;
      for (let t = 0; t < d; t++) s += q[(h * lq + i) * d + t]! * k[(h * lk + j) * d + t]!;
      return s / Math.sqrt(d);
    });
    const m = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - m));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let t = 0; t < d; t++) {
      let acc = 0;
      for (let j = 0; j < lk; j++) acc += (e[j]! / sum) * v[(h * lk + j) * d + t]!;
      out[(h * lq + i) * d + t] = acc;
    }
  }
  return out;
}

const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; a series/continued fraction is overkill here,
  // so compare GELU at a tolerance above that.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-x * x);
  return x >= 0 ? y : -y;
};

// ---- tests ---------------------------------------------------------------------------------------

describe('GraphBuilder on onnxruntime-node', () => {
  const dims = [2, 4, 5, 5];
  const n = dims.reduce((a, b) => a * b);
  const x = random(n, 1);

  it('conv with scoped weight names matches a direct convolution', async () => {
    const b = new GraphBuilder();
    const input = b.input('x', 'float32', ['batch', 4, 5, 5]);
    const wt = random(6 * 4 * 9, 2);
    const bias = random(6, 3);
    const y = b.scope('down_blocks.0', () => b.scope('conv', () =>
      b.conv(input, b.initializer('weight', wt, [6, 4, 3, 3]), b.initializer('bias', bias), { pads: [1, 1, 1, 1] })));
    b.output(y, 'y', 'float32');
    const names = b.toModel().graph!.initializer!.map((t) => t.name);
    expect(names).toEqual(['down_blocks.0.conv.weight', 'down_blocks.0.conv.bias']);
    const out = await run(b, { x: { dtype: 'float32', dims, data: x } });
    expect(out.y!.dims).toEqual([2, 6, 5, 5]);
    expectClose(out.y!.data as Float32Array, conv2dRef(x, dims, wt, 6, 3, bias, 1), 1e-5);
  });

  for (const impl of ['native', 'instanceNorm'] as const) {
    it(`groupNorm (${impl}) matches the reference`, async () => {
      const b = new GraphBuilder();
      const input = b.input('x', 'float32', dims);
      const scale = random(4, 4);
      const bias = random(4, 5);
      const y = b.groupNorm(input, b.initializer('norm.weight', scale), b.initializer('norm.bias', bias), { groups: 2, epsilon: 1e-6, impl });
      expect(y.shape).toEqual(dims);
      b.output(y, 'y');
      const out = await run(b, { x: { dtype: 'float32', dims, data: x } });
      expectClose(out.y!.data as Float32Array, groupNormRef(x, dims, 2, scale, bias, 1e-6), 1e-5);
    });
  }

  it('groupNorm native is refused before opset 21, where the decomposition is the default', async () => {
    const b = new GraphBuilder({ opset: 18 });
    const input = b.input('x', 'float32', dims);
    const s = b.initializer('s', new Float32Array(4).fill(1));
    const z = b.initializer('z', new Float32Array(4));
    expect(() => b.groupNorm(input, s, z, { groups: 2, impl: 'native' })).toThrow(/opset 21/);
    b.output(b.groupNorm(input, s, z, { groups: 2 }), 'y');
    expect(b.toModel().graph!.node!.map((nd) => nd.opType)).toContain('InstanceNormalization');
    const out = await run(b, { x: { dtype: 'float32', dims, data: x } });
    expectClose(out.y!.data as Float32Array, groupNormRef(x, dims, 2, new Float32Array(4).fill(1), new Float32Array(4), 1e-5), 1e-5);
  });

  it('layerNorm matches the reference', async () => {
    const b = new GraphBuilder();
    const input = b.input('x', 'float32', ['b', 'n', 20]);
    const scale = random(20, 6);
    const bias = random(20, 7);
    b.output(b.layerNorm(input, b.initializer('ln.weight', scale), b.initializer('ln.bias', bias)), 'y');
    const out = await run(b, { x: { dtype: 'float32', dims: [2, 5, 20], data: x } });
    expectClose(out.y!.data as Float32Array, layerNormRef(x, 10, 20, scale, bias, 1e-5), 1e-5);
  });

  it('attention (split heads, softmax(qkᵀ/√d)v, merge) matches the reference', async () => {
    const [heads, lq, lk, d] = [2, 3, 4, 5];
    const b = new GraphBuilder();
    const q = b.input('q', 'float32', [1, lq, heads * d]);
    const k = b.input('k', 'float32', [1, lk, heads * d]);
    const v = b.input('v', 'float32', [1, lk, heads * d]);
    const split = (t: typeof q, l: number) => b.transpose(b.reshape(t, [1, l, heads, d]), [0, 2, 1, 3]);
    const o = b.attention(split(q, lq), split(k, lk), split(v, lk));
    b.output(o, 'o');
    const [qd, kd, vd] = [random(lq * heads * d, 8), random(lk * heads * d, 9), random(lk * heads * d, 10)];
    const out = await run(b, {
      q: { dtype: 'float32', dims: [1, lq, heads * d], data: qd },
      k: { dtype: 'float32', dims: [1, lk, heads * d], data: kd },
      v: { dtype: 'float32', dims: [1, lk, heads * d], data: vd },
    });
    expect(out.o!.dims).toEqual([1, heads, lq, d]);
    // Reference wants [heads, L, d]: transpose the token-major inputs by hand.
    const headMajor = (t: Float32Array, l: number) => Float32Array.from({ length: heads * l * d }, (_, idx) => {
      const h = Math.floor(idx / (l * d));
      const i = Math.floor(idx / d) % l;
      return t[(i * heads + h) * d + (idx % d)]!;
    });
    expectClose(out.o!.data as Float32Array, attentionRef(headMajor(qd, lq), headMajor(kd, lk), headMajor(vd, lk), heads, lq, lk, d), 1e-5);
  });

  for (const opset of [18, 21]) {
    it(`silu and gelu (opset ${opset}: ${opset >= 20 ? 'native Gelu' : 'erf formula'}) match the reference`, async () => {
      const b = new GraphBuilder({ opset });
      const input = b.input('x', 'float32', [n]);
      b.output(b.silu(input), 'silu');
      b.output(b.gelu(input), 'gelu');
      b.output(b.gelu(input, 'tanh'), 'gelu_tanh');
      const xs = x.map((v) => v * 4);
      const out = await run(b, { x: { dtype: 'float32', dims: [n], data: xs } });
      expectClose(out.silu!.data as Float32Array, xs.map((v) => v / (1 + Math.exp(-v))), 1e-5);
      expectClose(out.gelu!.data as Float32Array, xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))), 1e-5);
      const tanhGelu = xs.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
      expectClose(out.gelu_tanh!.data as Float32Array, tanhGelu, 1e-5);
    });
  }

  it('shape ops, reductions, split, gather, resize and casts compose', async () => {
    const b = new GraphBuilder({ opset: 17 });
    const input = b.input('x', 'float32', dims);
    const [lo, hi] = b.split(input, 1, [1, 3]);
    b.output(b.reduceMean(hi!, [1], false), 'mean');
    b.output(b.reduceSum(lo!, [2, 3]), 'sum');
    b.output(b.gather(input, 1, 0), 'first');
    b.output(b.resize(input, { scales: [1, 1, 2, 2], mode: 'nearest' }), 'up');
    b.output(b.cast(b.shape(input), 'int32'), 'shape');
    b.output(b.flatten(input), 'flat');
    const out = await run(b, { x: { dtype: 'float32', dims, data: x } });
    const at = (bi: number, c: number, i: number, j: number) => x[((bi * 4 + c) * 5 + i) * 5 + j];
    expect(out.mean!.dims).toEqual([2, 5, 5]);
    expect(out.mean!.data[7]).toBeCloseTo((at(0, 1, 1, 2)! + at(0, 2, 1, 2)! + at(0, 3, 1, 2)!) / 3, 5);
    expect(out.sum!.dims).toEqual([2, 1, 1, 1]);
    expect(out.sum!.data[1]).toBeCloseTo(x.subarray(100, 125).reduce((a, v) => a + v, 0), 4);
    expect(out.first!.dims).toEqual([4, 5, 5]);
    expect(out.up!.dims).toEqual([2, 4, 10, 10]);
    expect(out.up!.data[(1 * 10 + 3) * 10 + 5]).toBe(at(0, 1, 1, 2));
    expect([...(out.shape!.data as Int32Array)]).toEqual(dims);
    expect(out.flat!.dims).toEqual([2, 100]);
  });

  it('names values after their scope and refuses duplicates and untyped outputs', () => {
    const b = new GraphBuilder();
    const input = b.input('x', 'float32', [3]);
    const y = b.scope('mid_block', () => b.scope('attentions.0', () => b.add(b.relu(input), 1)));
    expect(y.name).toBe('mid_block.attentions.0/Add');
    expect(() => b.input('x', 'float32', [3])).toThrow(/duplicate value name x/);
    expect(() => b.initializer('w', new Float32Array(3), [2, 2])).toThrow(/needs 16 bytes, got 12/);
    const untyped = b.op('Custom', [], {}, { domain: 'example' });
    expect(() => b.output(untyped, 'u')).toThrow(/dtype unknown/);
    expect(() => b.toModel()).toThrow(/no outputs/);
    b.output(y, 'y');
    expect(b.toModel().opsetImport).toEqual([{ domain: '', version: 21 }, { domain: 'example', version: 1 }]);
  });
});

import { attr, type GraphBuilder, type Value } from '../onnx/index.ts';
import type { WeightSource } from './weight-source.ts';
import type { LoraInputs, LoraTarget } from './lora-targets.ts';

/** What every layer needs: the graph, the weights, and the LoRA inputs of this model. */
export interface BuildContext {
  b: GraphBuilder;
  weights: WeightSource;
  lora: LoraInputs;
  /** 'fused' uses com.microsoft.MultiHeadAttention; 'decomposed' standard MatMul/Softmax ops. */
  attention: 'fused' | 'decomposed';
  /** Decomposed attention: heads per group of score tensors (undefined: all heads at once). */
  headsPerGroup?: number;
  /** Maps a module's checkpoint key to its kohya LoRA name (undefined: not a LoRA target). */
  loraName(module: string): string | undefined;
}

/** A weight of the current scope, e.g. param(ctx, 'proj_in.weight', [320, 320, 1, 1]). */
export function param(ctx: BuildContext, local: string, shape: readonly number[]): Value {
  return ctx.weights.param(ctx.b, local, shape);
}

/**
 * torch.nn.Linear on the last axis: x @ Wᵀ + bias, with a LoRA branch when the module is a target.
 * `storedAs1x1` reads a 1x1 conv's [out, in, 1, 1] weight as the same linear map.
 */
export function linear(
  ctx: BuildContext, x: Value, name: string, inDim: number, outDim: number,
  o: { bias?: boolean; storedAs1x1?: boolean } = {},
): Value {
  const { b } = ctx;
  return b.scope(name, () => {
    const stored = o.storedAs1x1 ? [outDim, inDim, 1, 1] : [outDim, inDim];
    let w = param(ctx, 'weight', stored);
    if (o.storedAs1x1) w = b.reshape(w, [outDim, inDim]);
    // Gemm reads W [out, in] as stored (transB), so loading needs no transposed copy of every weight.
    const rows = b.reshape(x, [-1, inDim]);
    const bias = o.bias === false ? undefined : param(ctx, 'bias', [outDim]);
    const y = b.reshape(b.gemm(rows, w, bias, { transB: true }), b.concat([b.shape(x, 0, -1), b.ints([outDim])], 0));
    const module = b.prefix;
    const loraName = ctx.loraName(module);
    if (!loraName) return y;
    const target: LoraTarget = { name: loraName, module, in: inDim, out: outDim, kind: o.storedAs1x1 ? 'conv1x1' : 'linear' };
    return ctx.lora.apply(b, target, x, y);
  });
}

export function conv2d(
  ctx: BuildContext, x: Value, name: string, inCh: number, outCh: number,
  o: { kernel?: number; stride?: number; pad?: number } = {},
): Value {
  const k = o.kernel ?? 3;
  const pad = o.pad ?? (k - 1) / 2;
  return ctx.b.scope(name, () => ctx.b.conv(
    x, param(ctx, 'weight', [outCh, inCh, k, k]), param(ctx, 'bias', [outCh]),
    { strides: [o.stride ?? 1, o.stride ?? 1], pads: [pad, pad, pad, pad], kernelShape: [k, k] },
  ));
}

/**
 * torch GroupNorm as Reshape + InstanceNormalization + per-channel scale/bias, not onnxruntime's
 * GroupNormalization: that op loses precision on groups whose mean is large against their spread
 * (3e-4 of the output at a mean offset of 20, 2e-4 on a VAE-size 1M-element group at offset 3, where
 * this form stays near 1e-5; test/parity/group-norm.test.ts).
 */
export function groupNorm(ctx: BuildContext, x: Value, name: string, channels: number, groups: number, epsilon: number): Value {
  return ctx.b.scope(name, () => ctx.b.groupNorm(
    x, param(ctx, 'weight', [channels]), param(ctx, 'bias', [channels]), { groups, epsilon, rank: 4, impl: 'instanceNorm' },
  ));
}

export function layerNorm(ctx: BuildContext, x: Value, name: string, width: number, epsilon = 1e-5): Value {
  return ctx.b.scope(name, () => ctx.b.layerNorm(
    x, param(ctx, 'weight', [width]), param(ctx, 'bias', [width]), { axis: -1, epsilon },
  ));
}

/** [B, C, H, W] -> [B, H*W, C] tokens. */
export function toTokens(b: GraphBuilder, x: Value, channels: number): Value {
  return b.transpose(b.reshape(x, [0, channels, -1]), [0, 2, 1]);
}

/** [B, H*W, C] tokens back to the layout of `like` ([B, C, H, W]). */
export function fromTokens(b: GraphBuilder, tokens: Value, like: Value): Value {
  return b.reshape(b.transpose(tokens, [0, 2, 1]), b.shape(like));
}

/**
 * Multi-head scaled dot-product attention on [B, L, C] projections (heads * headDim = C).
 * `mask` (added to the scores, [Lq, Lk]) forces the decomposed form.
 */
export function multiHeadAttention(
  ctx: BuildContext, q: Value, k: Value, v: Value, heads: number, width: number, mask?: Value,
): Value {
  const { b } = ctx;
  const d = width / heads;
  if (ctx.attention === 'fused' && !mask) {
    // scale is ORT's default, written out so the node can be rewritten in standard ops (attention-fallback.ts).
    return b.op('MultiHeadAttention', [q, k, v], { num_heads: heads, scale: attr.float(1 / Math.sqrt(d)) }, { domain: 'com.microsoft' });
  }
  const split = (x: Value) => b.transpose(b.reshape(x, [0, -1, heads, d]), [0, 2, 1, 3]);
  const [sq, sk, sv] = [split(q), split(k), split(v)];
  const group = Math.min(ctx.headsPerGroup ?? heads, heads);
  let out: Value;
  if (group >= heads) out = b.attention(sq, sk, sv, { scale: 1 / Math.sqrt(d), mask });
  else {
    // Groups of heads one after another: each group's scores can be freed before the next is made.
    const sizes = Array.from({ length: Math.ceil(heads / group) }, (_, i) => Math.min(group, heads - i * group));
    const [qs, ks, vs] = [sq, sk, sv].map((x) => b.split(x, 1, sizes));
    // Scoped per group, so recompute can cut the graph there too (models/train/step-graphs.ts).
    out = b.concat(qs!.map((qg, i) => b.scope(`heads${i}`, () => b.attention(qg, ks![i]!, vs![i]!, { scale: 1 / Math.sqrt(d), mask }))), 1);
  }
  return b.reshape(b.transpose(out, [0, 2, 1, 3]), [0, -1, width]);
}

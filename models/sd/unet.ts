import type { Value } from '../onnx/index.ts';
import type { UnetConfig } from './config.ts';
import {
  conv2d, fromTokens, groupNorm, layerNorm, linear, multiHeadAttention, toTokens, type BuildContext,
} from './layers.ts';

/**
 * The LDM UNetModel of SD1.x, laid out like its checkpoint (model.diffusion_model.*): input_blocks
 * (conv_in, per level resBlocks x [ResBlock, SpatialTransformer?] and a Downsample), middle_block
 * (ResBlock, SpatialTransformer, ResBlock), output_blocks (per level resBlocks+1 x [ResBlock,
 * SpatialTransformer?, Upsample?]) and out. Inputs: `sample` [B, 4, h, w], `timestep` [B] (float),
 * `context` [B, tokens, contextDim]; output: the noise prediction. Call inside `model.diffusion_model`.
 */
export function unet(ctx: BuildContext, cfg: UnetConfig): Value {
  const { b } = ctx;
  const x = b.input('sample', 'float32', ['batch', cfg.inChannels, 'height', 'width']);
  const t = b.input('timestep', 'float32', ['batch']);
  const context = b.input('context', 'float32', ['batch', 'tokens', cfg.contextDim]);
  const base = cfg.channels[0]!;
  const embDim = 4 * base;

  const emb = b.scope('time_embed', () => {
    const h = linear(ctx, timestepEmbedding(ctx, t, base), '0', base, embDim);
    return linear(ctx, b.silu(h), '2', embDim, embDim);
  });
  // Every ResBlock starts its emb_layers with SiLU on the same embedding: compute it once.
  const embAct = b.silu(emb);
  const block = (n: string, f: () => Value) => b.scope(n, f);

  let h = block('input_blocks.0', () => conv2d(ctx, x, '0', cfg.inChannels, base));
  const skips: { value: Value; channels: number }[] = [{ value: h, channels: base }];
  let ch = base;
  let n = 1;
  cfg.channels.forEach((levelCh, level) => {
    for (let r = 0; r < cfg.resBlocks; r++) {
      h = block(`input_blocks.${n++}`, () => {
        let y = resBlock(ctx, h, embAct, '0', ch!, levelCh, embDim, cfg.groups);
        if (cfg.attention[level]) y = spatialTransformer(ctx, y, context, '1', levelCh, cfg);
        return y;
      });
      ch = levelCh;
      skips.push({ value: h, channels: ch });
    }
    if (level < cfg.channels.length - 1) {
      h = block(`input_blocks.${n++}`, () => conv2d(ctx, h, '0.op', ch!, ch, { stride: 2 }));
      skips.push({ value: h, channels: ch! });
    }
  });

  h = block('middle_block', () => {
    let y = resBlock(ctx, h, embAct, '0', ch!, ch, embDim, cfg.groups);
    y = spatialTransformer(ctx, y, context, '1', ch!, cfg);
    return resBlock(ctx, y, embAct, '2', ch!, ch, embDim, cfg.groups);
  });

  n = 0;
  for (let level = cfg.channels.length - 1; level >= 0; level--) {
    const levelCh = cfg.channels[level];
    for (let r = 0; r <= cfg.resBlocks; r++) {
      const skip = skips.pop()!;
      h = block(`output_blocks.${n++}`, () => {
        let y = resBlock(ctx, b.concat([h, skip.value], 1), embAct, '0', ch! + skip.channels, levelCh!, embDim, cfg.groups);
        let sub = 1;
        if (cfg.attention[level]) y = spatialTransformer(ctx, y, context, String(sub++), levelCh!, cfg);
        if (level > 0 && r === cfg.resBlocks) y = upsample(ctx, y, String(sub), levelCh!);
        return y;
      });
      ch = levelCh!;
    }
  }

  return b.scope('out', () => conv2d(ctx, b.silu(groupNorm(ctx, h, '0', ch!, cfg.groups, 1e-5)), '2', ch!, cfg.outChannels));
}

/** Sinusoidal timestep features [B, dim]: cos then sin of t * 10000^(-i/half) (LDM, flip_sin_to_cos). */
function timestepEmbedding(ctx: BuildContext, t: Value, dim: number): Value {
  const { b } = ctx;
  const half = dim / 2;
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const args = b.mul(b.unsqueeze(t, [1]), b.initializer('timestep_frequencies', freqs, [1, half]));
  return b.concat([b.op('Cos', [args]), b.op('Sin', [args])], 1);
}

/** ResBlock: GN-SiLU-conv, add the projected time embedding, GN-SiLU-conv, plus a (1x1 conv) skip. */
function resBlock(
  ctx: BuildContext, x: Value, embAct: Value, name: string, inCh: number, outCh: number, embDim: number, groups: number,
): Value {
  const { b } = ctx;
  return b.scope(name, () => {
    let h = conv2d(ctx, b.silu(groupNorm(ctx, x, 'in_layers.0', inCh, groups, 1e-5)), 'in_layers.2', inCh, outCh);
    const e = linear(ctx, embAct, 'emb_layers.1', embDim, outCh);
    h = b.add(h, b.unsqueeze(e, [2, 3]));
    h = conv2d(ctx, b.silu(groupNorm(ctx, h, 'out_layers.0', outCh, groups, 1e-5)), 'out_layers.3', outCh, outCh);
    const skip = inCh === outCh ? x : conv2d(ctx, x, 'skip_connection', inCh, outCh, { kernel: 1 });
    return b.add(skip, h);
  });
}

/**
 * SpatialTransformer: GN, proj_in (a 1x1 conv in the checkpoint, applied as linear on the tokens),
 * transformerDepth x BasicTransformerBlock (self-attention, cross-attention on the context, GEGLU
 * feed-forward, each pre-LN with a residual), proj_out, plus the input.
 */
function spatialTransformer(ctx: BuildContext, x: Value, context: Value, name: string, ch: number, cfg: UnetConfig): Value {
  const { b } = ctx;
  return b.scope(name, () => {
    const normed = groupNorm(ctx, x, 'norm', ch, cfg.groups, 1e-6);
    let h = linear(ctx, toTokens(b, normed, ch), 'proj_in', ch, ch, { storedAs1x1: true });
    for (let d = 0; d < cfg.transformerDepth; d++) {
      h = b.scope(`transformer_blocks.${d}`, () => {
        let y = h;
        y = b.add(y, attention(ctx, layerNorm(ctx, y, 'norm1', ch), undefined, 'attn1', ch, ch, cfg.heads));
        y = b.add(y, attention(ctx, layerNorm(ctx, y, 'norm2', ch), context, 'attn2', ch, cfg.contextDim, cfg.heads));
        return b.add(y, feedForward(ctx, layerNorm(ctx, y, 'norm3', ch), ch));
      });
    }
    h = linear(ctx, h, 'proj_out', ch, ch, { storedAs1x1: true });
    return b.add(fromTokens(b, h, x), x);
  });
}

/** CrossAttention: to_q/to_k/to_v without bias, to_out.0 with bias; self-attention when context is undefined. */
function attention(ctx: BuildContext, x: Value, context: Value | undefined, name: string, ch: number, contextDim: number, heads: number): Value {
  return ctx.b.scope(name, () => {
    const kv = context ?? x;
    const q = linear(ctx, x, 'to_q', ch, ch, { bias: false });
    const k = linear(ctx, kv, 'to_k', contextDim, ch, { bias: false });
    const v = linear(ctx, kv, 'to_v', contextDim, ch, { bias: false });
    return linear(ctx, multiHeadAttention(ctx, q, k, v, heads, ch), 'to_out.0', ch, ch);
  });
}

/** GEGLU feed-forward: proj to 2 x 4ch, value * GELU(gate), back to ch. */
function feedForward(ctx: BuildContext, x: Value, ch: number): Value {
  const { b } = ctx;
  const inner = 4 * ch;
  return b.scope('ff', () => {
    const [value, gate] = b.split(linear(ctx, x, 'net.0.proj', ch, 2 * inner), -1, 2);
    return linear(ctx, b.mul(value!, b.gelu(gate!)), 'net.2', inner, ch);
  });
}

/** Nearest-neighbour 2x, then a 3x3 conv. */
function upsample(ctx: BuildContext, x: Value, name: string, ch: number): Value {
  const { b } = ctx;
  return b.scope(name, () => conv2d(ctx, b.resize(x, { scales: [1, 1, 2, 2], mode: 'nearest' }), 'conv', ch, ch));
}

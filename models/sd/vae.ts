import type { Value } from '../onnx/index.ts';
import type { VaeConfig } from './config.ts';
import { conv2d, fromTokens, groupNorm, linear, multiHeadAttention, toTokens, type BuildContext } from './layers.ts';

// The autoencoder's GroupNorms use eps 1e-6 (LDM's Normalize).
const EPS = 1e-6;

/**
 * VAE decoder (first_stage_model.post_quant_conv + decoder.*): scaled latents `latent` [B, 4, h, w]
 * in, uint8 RGB `image` [B, 8h, 8w, 3] out (clamped, rounded, channels last, ready for sharp).
 * Call inside the `first_stage_model` scope.
 */
export function vaeDecoder(ctx: BuildContext, cfg: VaeConfig): Value {
  const { b } = ctx;
  const h = decodeLatent(ctx, cfg, b.input('latent', 'float32', ['batch', cfg.latentChannels, 'height', 'width']));
  // [-1, 1] -> [0, 255], rounded (Cast truncates, so add 0.5 first), NCHW -> NHWC.
  const pixels = b.clip(b.add(b.mul(b.add(h, 1), 127.5), 0.5), 0, 255);
  return b.cast(b.transpose(pixels, [0, 2, 3, 1]), 'uint8');
}

/** The decoder proper: scaled latents [B, 4, h, w] to the image [B, 3, 8h, 8w] in [-1, 1], unclamped. */
export function decodeLatent(ctx: BuildContext, cfg: VaeConfig, z: Value): Value {
  const { b } = ctx;
  const levels = cfg.channels.length;
  const top = cfg.channels[levels - 1];
  const h = conv2d(ctx, b.div(z, cfg.scale), 'post_quant_conv', cfg.latentChannels, cfg.latentChannels, { kernel: 1 });
  return b.scope('decoder', () => {
    let y = conv2d(ctx, h, 'conv_in', cfg.latentChannels, top!);
    y = middle(ctx, y, top!, cfg.groups);
    let ch = top;
    // `up` is stored deepest-last but runs deepest-first.
    for (let i = levels - 1; i >= 0; i--) {
      y = b.scope(`up.${i}`, () => {
        let u = y;
        for (let j = 0; j <= cfg.resBlocks; j++) {
          u = resnet(ctx, u, `block.${j}`, ch!, cfg.channels[i]!, cfg.groups);
          ch = cfg.channels[i];
        }
        if (i > 0) u = conv2d(ctx, b.resize(u, { scales: [1, 1, 2, 2], mode: 'nearest' }), 'upsample.conv', ch!, ch!);
        return u;
      });
    }
    y = b.silu(groupNorm(ctx, y, 'norm_out', ch!, cfg.groups, EPS));
    return conv2d(ctx, y, 'conv_out', ch!, cfg.imageChannels);
  });
}

/**
 * VAE encoder (first_stage_model.encoder.* + quant_conv): uint8 RGB `image` [B, H, W, 3] in; the
 * latent distribution's `mean` and `std` out, both already multiplied by the latent scale (a sample
 * is mean + std * noise). Call inside the `first_stage_model` scope.
 */
export function vaeEncoder(ctx: BuildContext, cfg: VaeConfig): { mean: Value; std: Value } {
  const { b } = ctx;
  const image = b.input('image', 'uint8', ['batch', 'height', 'width', cfg.imageChannels]);
  const x = b.sub(b.div(b.transpose(b.cast(image, 'float32'), [0, 3, 1, 2]), 127.5), 1);
  const levels = cfg.channels.length;
  const moments = b.scope('encoder', () => {
    let y = conv2d(ctx, x, 'conv_in', cfg.imageChannels, cfg.channels[0]!);
    let ch = cfg.channels[0];
    for (let i = 0; i < levels; i++) {
      y = b.scope(`down.${i}`, () => {
        let d = y;
        for (let j = 0; j < cfg.resBlocks; j++) {
          d = resnet(ctx, d, `block.${j}`, ch!, cfg.channels[i]!, cfg.groups);
          ch = cfg.channels[i];
        }
        // Asymmetric padding (right and bottom) before a stride-2 conv, as LDM's Downsample does.
        if (i < levels - 1) d = conv2d(ctx, b.pad(d, [0, 0, 0, 0, 0, 0, 1, 1]), 'downsample.conv', ch!, ch!, { stride: 2, pad: 0 });
        return d;
      });
    }
    y = middle(ctx, y, ch!, cfg.groups);
    y = b.silu(groupNorm(ctx, y, 'norm_out', ch!, cfg.groups, EPS));
    return conv2d(ctx, y, 'conv_out', ch!, 2 * cfg.latentChannels);
  });
  const q = conv2d(ctx, moments, 'quant_conv', 2 * cfg.latentChannels, 2 * cfg.latentChannels, { kernel: 1 });
  const [mean, logvar] = b.split(q, 1, 2);
  const std = b.exp(b.mul(b.clip(logvar!, -30, 20), 0.5));
  return { mean: b.mul(mean!, cfg.scale), std: b.mul(std, cfg.scale) };
}

function middle(ctx: BuildContext, x: Value, ch: number, groups: number): Value {
  return ctx.b.scope('mid', () => {
    let y = resnet(ctx, x, 'block_1', ch, ch, groups);
    y = attentionBlock(ctx, y, 'attn_1', ch, groups);
    return resnet(ctx, y, 'block_2', ch, ch, groups);
  });
}

/** ResnetBlock without time embedding: GN-SiLU-conv twice, plus a 1x1 nin_shortcut when channels change. */
function resnet(ctx: BuildContext, x: Value, name: string, inCh: number, outCh: number, groups: number): Value {
  const { b } = ctx;
  return b.scope(name, () => {
    let h = conv2d(ctx, b.silu(groupNorm(ctx, x, 'norm1', inCh, groups, EPS)), 'conv1', inCh, outCh);
    h = conv2d(ctx, b.silu(groupNorm(ctx, h, 'norm2', outCh, groups, EPS)), 'conv2', outCh, outCh);
    const skip = inCh === outCh ? x : conv2d(ctx, x, 'nin_shortcut', inCh, outCh, { kernel: 1 });
    return b.add(skip, h);
  });
}

/** Single-head self-attention over all pixels; q/k/v/proj_out are 1x1 convs applied as linear on tokens. */
function attentionBlock(ctx: BuildContext, x: Value, name: string, ch: number, groups: number): Value {
  const { b } = ctx;
  return b.scope(name, () => {
    const tokens = toTokens(b, groupNorm(ctx, x, 'norm', ch, groups, EPS), ch);
    const proj = (n: string, v: Value) => linear(ctx, v, n, ch, ch, { storedAs1x1: true });
    const out = multiHeadAttention(ctx, proj('q', tokens), proj('k', tokens), proj('v', tokens), 1, ch);
    return b.add(x, fromTokens(b, proj('proj_out', out), x));
  });
}

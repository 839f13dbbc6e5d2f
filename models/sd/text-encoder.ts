import type { Value } from '../onnx/index.ts';
import type { TextEncoderConfig } from './config.ts';
import { layerNorm, linear, multiHeadAttention, param, type BuildContext } from './layers.ts';

/**
 * CLIP's text transformer (HF CLIPTextModel layout, as stored under cond_stage_model.transformer.):
 * token + position embeddings, pre-LN causal self-attention layers with quick-GELU MLPs, final LN.
 * Input `input_ids` int64 [B, 77]. Outputs `hidden` (last layer) and, for clip skip 2, `hidden_skip2`
 * (the penultimate layer's output), both through the final layer norm as A1111 and diffusers do.
 * Call inside the `cond_stage_model.transformer` scope.
 */
export function textEncoder(ctx: BuildContext, cfg: TextEncoderConfig): { hidden: Value; hiddenSkip2?: Value } {
  const { b } = ctx;
  const ids = b.input('input_ids', 'int64', ['batch', cfg.contextTokens]);
  return b.scope('text_model', () => {
    let x = b.scope('embeddings', () => {
      const tokens = b.gather(param(ctx, 'token_embedding.weight', [cfg.vocabSize, cfg.width]), ids, 0);
      return b.add(tokens, param(ctx, 'position_embedding.weight', [cfg.contextTokens, cfg.width]));
    });
    const mask = causalMask(ctx, cfg.contextTokens);
    const outputs: Value[] = [];
    b.scope('encoder', () => {
      for (let i = 0; i < cfg.layers; i++) {
        outputs.push(x);
        x = b.scope(`layers.${i}`, () => encoderLayer(ctx, cfg, x, mask));
      }
    });
    return finalOutputs(ctx, cfg, x, cfg.layers > 1 ? outputs[cfg.layers - 1] : undefined);
  });
}

function finalOutputs(ctx: BuildContext, cfg: TextEncoderConfig, last: Value, penultimate?: Value) {
  const { b } = ctx;
  // One set of final-LN weights serves both outputs.
  const w = param(ctx, 'final_layer_norm.weight', [cfg.width]);
  const bias = param(ctx, 'final_layer_norm.bias', [cfg.width]);
  const norm = (h: Value) => b.layerNorm(h, w, bias, { axis: -1, epsilon: cfg.layerNormEps });
  return { hidden: norm(last), hiddenSkip2: penultimate && norm(penultimate) };
}

function encoderLayer(ctx: BuildContext, cfg: TextEncoderConfig, x: Value, mask: Value): Value {
  const { b } = ctx;
  const h = layerNorm(ctx, x, 'layer_norm1', cfg.width, cfg.layerNormEps);
  const attn = b.scope('self_attn', () => {
    const q = linear(ctx, h, 'q_proj', cfg.width, cfg.width);
    const k = linear(ctx, h, 'k_proj', cfg.width, cfg.width);
    const v = linear(ctx, h, 'v_proj', cfg.width, cfg.width);
    const o = multiHeadAttention(ctx, q, k, v, cfg.heads, cfg.width, mask);
    return linear(ctx, o, 'out_proj', cfg.width, cfg.width);
  });
  x = b.add(x, attn);
  const h2 = layerNorm(ctx, x, 'layer_norm2', cfg.width, cfg.layerNormEps);
  const mlp = b.scope('mlp', () => {
    const up = linear(ctx, h2, 'fc1', cfg.width, cfg.mlpWidth);
    // quick GELU: x * sigmoid(1.702 x)
    const act = b.mul(up, b.sigmoid(b.mul(up, 1.702)));
    return linear(ctx, act, 'fc2', cfg.mlpWidth, cfg.width);
  });
  return b.add(x, mlp);
}

/** Additive causal mask [L, L]: token i sees tokens 0..i. */
function causalMask(ctx: BuildContext, tokens: number): Value {
  const data = new Float32Array(tokens * tokens);
  for (let i = 0; i < tokens; i++) for (let j = i + 1; j < tokens; j++) data[i * tokens + j] = -Infinity;
  return ctx.b.initializer('causal_mask', data, [tokens, tokens]);
}

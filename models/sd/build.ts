import { GraphBuilder } from '../onnx/index.ts';
import type { SdConfig } from './config.ts';
import { kohyaName, LDM_PREFIX, unetKeyToDiffusers } from './checkpoint-names.ts';
import { LoraInputs, type LoraTarget } from './lora-targets.ts';
import type { BuildContext } from './layers.ts';
import type { WeightSource } from './weight-source.ts';
import { textEncoder } from './text-encoder.ts';
import { unet } from './unet.ts';
import { vaeDecoder, vaeEncoder } from './vae.ts';

export type SdPart = 'text' | 'unet' | 'vaeDecoder' | 'vaeEncoder';
export const SD_PARTS: readonly SdPart[] = ['text', 'unet', 'vaeDecoder', 'vaeEncoder'];

/** Bump when the architecture code or the graph builder changes what a built graph is: cached graphs are keyed by it. */
export const GRAPH_BUILDER_VERSION = 3;

export interface BuildOptions {
  /** Add LoRA branch inputs at kohya's target modules (text encoder and UNet). Default true. */
  lora?: boolean;
  /** UNet attention implementation (the text encoder always uses the decomposed form for its mask). */
  attention?: 'fused' | 'decomposed';
  /**
   * Decomposed attention: heads per score tensor (default all). Fewer heads per group keep fewer
   * [Lq, Lk] score tensors alive at once (8 heads at 64x64 latents: 512 MiB of scores vs 64 MiB per head).
   */
  headsPerGroup?: number;
  opset?: number;
}

export interface BuiltPart {
  builder: GraphBuilder;
  /** LoRA targets in graph-input order (empty for the VAE or with lora: false). */
  loraTargets: LoraTarget[];
}

const UNET_TARGET = /\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.0\.proj|ff\.net\.2))$/;
const TEXT_TARGET = /\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))$/;

/** kohya LoRA name of a module given by its full checkpoint key, or undefined when LoRA skips it. */
export function loraNameOf(module: string, config: SdConfig): string | undefined {
  if (module.startsWith(LDM_PREFIX.unet) && UNET_TARGET.test(module)) {
    const diffusers = unetKeyToDiffusers(`${module.slice(LDM_PREFIX.unet.length)}.weight`, config.unet);
    return kohyaName('unet', diffusers.slice(0, -'.weight'.length));
  }
  if (module.startsWith(LDM_PREFIX.text) && TEXT_TARGET.test(module)) {
    return kohyaName('text_encoder', module.slice(LDM_PREFIX.text.length));
  }
  return undefined;
}

/** Builds one of the four SD graphs with weights from `weights` (checkpoint key names). */
export function buildPart(config: SdConfig, part: SdPart, weights: WeightSource, options: BuildOptions = {}): BuiltPart {
  const b = new GraphBuilder({
    opset: options.opset,
    domains: { 'com.microsoft': 1 },
    graphName: `${config.name}-${part}`,
    metadata: { config: config.name, part },
  });
  const lora = new LoraInputs((options.lora ?? true) && (part === 'text' || part === 'unet'));
  const ctx: BuildContext = {
    b, weights, lora,
    attention: options.attention ?? 'fused',
    headsPerGroup: options.headsPerGroup,
    loraName: (module) => loraNameOf(module, config),
  };
  switch (part) {
    case 'text': {
      const out = b.scope(LDM_PREFIX.text.slice(0, -1), () => textEncoder(ctx, config.text));
      b.output(out.hidden, 'hidden');
      if (out.hiddenSkip2) b.output(out.hiddenSkip2, 'hidden_skip2');
      break;
    }
    case 'unet':
      b.output(b.scope(LDM_PREFIX.unet.slice(0, -1), () => unet(ctx, config.unet)), 'eps', 'float32');
      break;
    case 'vaeDecoder':
      b.output(b.scope(LDM_PREFIX.vae.slice(0, -1), () => vaeDecoder(ctx, config.vae)), 'image', 'uint8');
      break;
    case 'vaeEncoder': {
      const { mean, std } = b.scope(LDM_PREFIX.vae.slice(0, -1), () => vaeEncoder(ctx, config.vae));
      b.output(mean, 'mean', 'float32');
      b.output(std, 'std', 'float32');
      break;
    }
  }
  return { builder: b, loraTargets: lora.targets };
}

import type { SdConfig } from './config.ts';

/** Key prefixes of the three models inside an SD1.x single-file (LDM) checkpoint. */
export const LDM_PREFIX = {
  unet: 'model.diffusion_model.',
  text: 'cond_stage_model.transformer.',
  vae: 'first_stage_model.',
} as const;

/** The three weight files of a diffusers folder and their models' key prefixes in LDM naming. */
export const DIFFUSERS_PARTS = [
  { folder: 'unet', ldmPrefix: LDM_PREFIX.unet },
  { folder: 'text_encoder', ldmPrefix: LDM_PREFIX.text },
  { folder: 'vae', ldmPrefix: LDM_PREFIX.vae },
] as const;

const RESNET_LAYERS: Record<string, string> = {
  'in_layers.0': 'norm1', 'in_layers.2': 'conv1', 'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2', 'out_layers.3': 'conv2', skip_connection: 'conv_shortcut',
};

/**
 * Maps an LDM UNet key (without `model.diffusion_model.`) to its diffusers UNet2DConditionModel name.
 * The block numbering follows from the config: each level has resBlocks input blocks plus a
 * downsampler, and resBlocks+1 output blocks.
 */
export function unetKeyToDiffusers(key: string, unet: SdConfig['unet']): string {
  const r = unet.resBlocks;
  const fixed: [RegExp, string][] = [
    [/^time_embed\.0\./, 'time_embedding.linear_1.'],
    [/^time_embed\.2\./, 'time_embedding.linear_2.'],
    [/^input_blocks\.0\.0\./, 'conv_in.'],
    [/^out\.0\./, 'conv_norm_out.'],
    [/^out\.2\./, 'conv_out.'],
  ];
  for (const [re, to] of fixed) if (re.test(key)) return key.replace(re, to);
  let m = /^input_blocks\.(\d+)\.(\d+)\.(.*)$/.exec(key);
  if (m) {
    const n = Number(m[1]) - 1;
    const level = Math.floor(n / (r + 1));
    const index = n % (r + 1);
    if (index === r) return `down_blocks.${level}.downsamplers.0.conv.${m[3]!.replace(/^op\./, '')}`;
    return m[2] === '0'
      ? `down_blocks.${level}.resnets.${index}.${resnetLayer(m[3]!)}`
      : `down_blocks.${level}.attentions.${index}.${m[3]}`;
  }
  m = /^middle_block\.(\d)\.(.*)$/.exec(key);
  if (m) {
    if (m[1] === '1') return `mid_block.attentions.0.${m[2]}`;
    return `mid_block.resnets.${m[1] === '0' ? 0 : 1}.${resnetLayer(m[2]!)}`;
  }
  m = /^output_blocks\.(\d+)\.(\d+)\.(.*)$/.exec(key);
  if (m) {
    const n = Number(m[1]);
    const level = Math.floor(n / (r + 1));
    const index = n % (r + 1);
    if (m[2] === '0') return `up_blocks.${level}.resnets.${index}.${resnetLayer(m[3]!)}`;
    if (m[3]!.startsWith('conv.')) return `up_blocks.${level}.upsamplers.0.${m[3]}`;
    return `up_blocks.${level}.attentions.${index}.${m[3]}`;
  }
  throw new Error(`no diffusers name for UNet key ${key}`);
}

function resnetLayer(rest: string): string {
  for (const [ldm, diffusers] of Object.entries(RESNET_LAYERS)) {
    if (rest.startsWith(`${ldm}.`)) return diffusers + rest.slice(ldm.length);
  }
  throw new Error(`unknown resnet layer ${rest}`);
}

const VAE_ATTENTION: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };

/** Maps an LDM VAE key (without `first_stage_model.`) to its diffusers AutoencoderKL name. */
export function vaeKeyToDiffusers(key: string, vae: SdConfig['vae']): string {
  const levels = vae.channels.length;
  const rename = (rest: string) => rest.replace(/^nin_shortcut\./, 'conv_shortcut.').replace(/^norm_out\./, 'conv_norm_out.');
  let m = /^(encoder|decoder)\.mid\.(block_1|block_2|attn_1)\.(\w+)\.(.*)$/.exec(key);
  if (m) {
    if (m[2] === 'attn_1') return `${m[1]}.mid_block.attentions.0.${VAE_ATTENTION[m[3]!]}.${m[4]}`;
    return `${m[1]}.mid_block.resnets.${m[2] === 'block_1' ? 0 : 1}.${rename(`${m[3]}.${m[4]}`)}`;
  }
  m = /^encoder\.down\.(\d+)\.(block\.(\d+)|downsample)\.(.*)$/.exec(key);
  if (m) {
    return m[3] !== undefined
      ? `encoder.down_blocks.${m[1]}.resnets.${m[3]}.${rename(m[4]!)}`
      : `encoder.down_blocks.${m[1]}.downsamplers.0.${m[4]}`;
  }
  // The decoder's `up` list is stored deepest-last; diffusers numbers up_blocks in processing order.
  m = /^decoder\.up\.(\d+)\.(block\.(\d+)|upsample)\.(.*)$/.exec(key);
  if (m) {
    const block = levels - 1 - Number(m[1]);
    return m[3] !== undefined
      ? `decoder.up_blocks.${block}.resnets.${m[3]}.${rename(m[4]!)}`
      : `decoder.up_blocks.${block}.upsamplers.0.${m[4]}`;
  }
  return key.replace(/^(encoder|decoder)\.norm_out\./, '$1.conv_norm_out.');
}

export type DiffusersFolder = (typeof DIFFUSERS_PARTS)[number]['folder'];

/** Maps a full LDM checkpoint key to [diffusers folder, key in that folder's weights file]. */
export function ldmKeyToDiffusers(key: string, config: SdConfig): [folder: DiffusersFolder, key: string] {
  if (key.startsWith(LDM_PREFIX.unet)) return ['unet', unetKeyToDiffusers(key.slice(LDM_PREFIX.unet.length), config.unet)];
  if (key.startsWith(LDM_PREFIX.text)) return ['text_encoder', key.slice(LDM_PREFIX.text.length)];
  if (key.startsWith(LDM_PREFIX.vae)) return ['vae', vaeKeyToDiffusers(key.slice(LDM_PREFIX.vae.length), config.vae)];
  throw new Error(`not an SD checkpoint key: ${key}`);
}

/** kohya-ss LoRA module name of a diffusers module path: `lora_unet_` / `lora_te_` + dots as underscores. */
export function kohyaName(folder: 'unet' | 'text_encoder', diffusersModule: string): string {
  return `${folder === 'unet' ? 'lora_unet' : 'lora_te'}_${diffusersModule.replaceAll('.', '_')}`;
}

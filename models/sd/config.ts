import { z } from 'zod';

/** CLIP ViT-L/14 text transformer (SD1.x's text encoder). */
export const TextEncoderConfigSchema = z.object({
  vocabSize: z.int(),
  contextTokens: z.int(),
  width: z.int(),
  layers: z.int(),
  heads: z.int(),
  mlpWidth: z.int(),
  layerNormEps: z.number(),
});

/** The LDM UNetModel as SD1.x configures it (v1-inference.yaml). */
export const UnetConfigSchema = z.object({
  inChannels: z.int(),
  outChannels: z.int(),
  /** Channels per level: model_channels * channel_mult. */
  channels: z.array(z.int()).min(1),
  resBlocks: z.int(),
  /** Whether each level has cross-attention transformers (SD1.5: all but the deepest). */
  attention: z.array(z.boolean()),
  heads: z.int(),
  transformerDepth: z.int(),
  contextDim: z.int(),
  groups: z.int(),
});

/** The KL autoencoder (first_stage_model). */
export const VaeConfigSchema = z.object({
  imageChannels: z.int(),
  latentChannels: z.int(),
  channels: z.array(z.int()).min(1),
  resBlocks: z.int(),
  groups: z.int(),
  /** Latents are multiplied by this after encoding and divided before decoding. */
  scale: z.number(),
});

export const SdConfigSchema = z.object({
  name: z.string(),
  text: TextEncoderConfigSchema,
  unet: UnetConfigSchema,
  vae: VaeConfigSchema,
});

export type TextEncoderConfig = z.infer<typeof TextEncoderConfigSchema>;
export type UnetConfig = z.infer<typeof UnetConfigSchema>;
export type VaeConfig = z.infer<typeof VaeConfigSchema>;
export type SdConfig = z.infer<typeof SdConfigSchema>;

/** Stable Diffusion 1.5 (v1-inference.yaml; CLIP ViT-L/14 text model). */
export const sd15: SdConfig = {
  name: 'sd15',
  text: { vocabSize: 49408, contextTokens: 77, width: 768, layers: 12, heads: 12, mlpWidth: 3072, layerNormEps: 1e-5 },
  unet: {
    inChannels: 4, outChannels: 4, channels: [320, 640, 1280, 1280], resBlocks: 2,
    attention: [true, true, true, false], heads: 8, transformerDepth: 1, contextDim: 768, groups: 32,
  },
  vae: { imageChannels: 3, latentChannels: 4, channels: [128, 256, 512, 512], resBlocks: 2, groups: 32, scale: 0.18215 },
};

/**
 * The same architecture, few channels and layers: seeded random weights make it run in milliseconds for
 * tests, CI and the app without a checkpoint. Its images are noise-like, not pictures.
 */
export const tiny: SdConfig = {
  name: 'tiny',
  text: { vocabSize: 548, contextTokens: 77, width: 32, layers: 2, heads: 2, mlpWidth: 64, layerNormEps: 1e-5 },
  unet: {
    inChannels: 4, outChannels: 4, channels: [32, 64], resBlocks: 1,
    attention: [true, false], heads: 2, transformerDepth: 1, contextDim: 32, groups: 8,
  },
  vae: { imageChannels: 3, latentChannels: 4, channels: [8, 16, 16, 16], resBlocks: 1, groups: 4, scale: 0.18215 },
};

/**
 * A miniature trained on a handful of photos (models/sd/demo): tiny's text encoder and picture-keeping VAE
 * (picture-vae.ts), a wider three-level UNet whose weights `npm run demo:train` trains, drawing 256x256
 * faces. For trying the pipeline; real portraits need an SD1.5 checkpoint.
 */
export const demo: SdConfig = {
  name: 'demo',
  text: tiny.text,
  unet: {
    inChannels: 4, outChannels: 4, channels: [24, 48, 72], resBlocks: 1,
    attention: [false, true, true], heads: 2, transformerDepth: 1, contextDim: 32, groups: 8,
  },
  vae: tiny.vae,
};

/** Image pixels per latent pixel along each side (8 for SD1.x: one downsample per VAE level but the last). */
export function latentFactor(vae: VaeConfig): number {
  return 2 ** (vae.channels.length - 1);
}

export const SD_CONFIGS = { sd15, tiny, demo } as const;
export type SdConfigName = keyof typeof SD_CONFIGS;

import { z } from 'zod';

/** A float32 tensor; structurally an onnx HostTensor, so it can be fed to a session as it is. */
export const F32TensorSchema = z.object({
  dtype: z.literal('float32'),
  dims: z.array(z.int().min(0)),
  // Any backing buffer: data read from files may be a view into a larger (or shared) buffer.
  data: z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array'),
});
export type F32Tensor = z.infer<typeof F32TensorSchema>;

/**
 * One adapted module in kohya layout: down [rank, in] (linear) or [rank, in, kh, kw] (conv), up
 * [out, rank] or [out, rank, 1, 1]. The module adds scale·up@down to its weight, scale = alpha / rank.
 */
export const LoraModuleSchema = z.object({
  /** kohya module name, e.g. lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q. */
  name: z.string(),
  down: F32TensorSchema,
  up: F32TensorSchema,
  alpha: z.number(),
});
export type LoraModule = z.infer<typeof LoraModuleSchema>;

/** The key naming a file used; saving always writes kohya. */
export const LoraFormatSchema = z.enum(['kohya', 'diffusers', 'diffusers-attn-procs', 'peft']);
export type LoraFormat = z.infer<typeof LoraFormatSchema>;

/** What a LORA port carries: a LoRA mapped onto the modules of one SD architecture. */
export const LoraSchema = z.object({
  /** Display name, usually the file name without extension. */
  name: z.string(),
  /** Where it came from: a path inside the model store, or the node that made it. */
  source: z.string(),
  format: LoraFormatSchema,
  /** SD config (models/sd/config.ts) whose modules and shapes every module fits, e.g. 'sd15'. */
  base: z.string(),
  /** The file's safetensors metadata (kohya's ss_*, modelspec.*, PEFT's config), shown to the user. */
  metadata: z.record(z.string(), z.string()),
  modules: z.array(LoraModuleSchema),
  /** Keys of the file that are not LoRA weights (e.g. bundled embeddings), left out. */
  ignoredKeys: z.array(z.string()),
});
export type Lora = z.infer<typeof LoraSchema>;

export function rankOf(m: LoraModule): number {
  return m.down.dims[0]!;
}

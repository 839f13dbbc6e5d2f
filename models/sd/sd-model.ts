import { buildPart, SD_PARTS, type BuildOptions, type SdPart } from './build.ts';
import type { SdConfig } from './config.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import type { LoraTarget } from './lora-targets.ts';
import { PartSession } from './part-session.ts';
import type { WeightSource } from './weight-source.ts';

/** Where a part's ONNX model comes from: bytes built now, or a cached file. */
export type PartModel = { bytes: Uint8Array } | { path: string };

/**
 * A loaded Stable Diffusion model (the SD_MODEL value): config, tokenizer, and the four graphs, whose
 * sessions are created on first use (the VAE encoder only for img2img). `graph(part)` and `weightsDir`
 * say what the weights are (initializers inline or pointing into files there), so a LoRA bake can read them.
 */
export class SdModel {
  private readonly sessions = new Map<SdPart, Promise<PartSession>>();

  constructor(
    readonly id: string,
    readonly config: SdConfig,
    readonly tokenizer: ClipTokenizer,
    private readonly models: Record<SdPart, () => PartModel>,
    readonly loraTargets: { text: readonly LoraTarget[]; unet: readonly LoraTarget[] },
    /** The folder external initializers are read from (the checkpoint's); undefined: each graph's own folder. */
    readonly weightsDir?: string,
    /** The single-file checkpoint the weights come from (a trained LoRA records its hash); undefined otherwise. */
    readonly checkpointFile?: string,
  ) {}

  /** The ONNX model of a part, as bytes or a file. */
  graph(part: SdPart): PartModel {
    return this.models[part]();
  }

  session(part: SdPart): Promise<PartSession> {
    let s = this.sessions.get(part);
    if (!s) {
      const model = this.models[part]();
      // fp16 weights stay fp16 in memory (read from the checkpoint file), cast per use when a step
      // runs: folded at creation they became a float32 copy, twice the memory (SD1.5 txt2img peaked at
      // 6.8-7.0 GB) and most of the creation time, for no measurable gain per step (bench sd-cpu).
      s = PartSession.create('bytes' in model ? model.bytes : model.path, { weightsDir: this.weightsDir, foldConstants: false });
      this.sessions.set(part, s);
    }
    return s;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).release();
  }
}

/**
 * Builds the four graphs from a weight source, in memory. `weightsDir` is the folder external
 * initializers point into (the checkpoint's folder).
 */
export function sdModelFromWeights(
  id: string, config: SdConfig, tokenizer: ClipTokenizer, weights: WeightSource,
  o: BuildOptions & { weightsDir?: string } = {},
): SdModel {
  const built = new Map(SD_PARTS.map((part) => [part, buildPart(config, part, weights, o)]));
  const models = Object.fromEntries(SD_PARTS.map((part) => {
    let bytes: Uint8Array | undefined;
    return [part, () => ({ bytes: (bytes ??= built.get(part)!.builder.toBytes()) })];
  })) as Record<SdPart, () => PartModel>;
  return new SdModel(id, config, tokenizer, models, {
    text: built.get('text')!.loraTargets, unet: built.get('unet')!.loraTargets,
  }, o.weightsDir);
}

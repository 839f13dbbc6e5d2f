import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildPart, SD_PARTS, type BuildOptions, type SdPart } from './build.ts';
import type { SdConfig } from './config.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import type { LoraTarget } from './lora-targets.ts';
import { fusedAttentionCheck, withoutFusedAttention } from './attention-fallback.ts';
import { float16Graph, recordPrecision, sdMemory, sdPrecision, type PartPrecision, type SdMemory } from './fp16.ts';
import { int8Graph } from './int8.ts';
import { cachedOptimized, type OptimizedStore } from './optimized-cache.ts';
import { PartSession } from './part-session.ts';
import type { SessionManager } from '../session/manager.ts';
import { ensureProviderChoice, type Provider } from '../session/providers.ts';
import type { WeightSource } from './weight-source.ts';

/**
 * How each part's session is made. fp16 weights stay fp16 in memory (read from the checkpoint file),
 * cast per use when a step runs: folded at creation they became a float32 copy, twice the memory (SD1.5
 * txt2img peaked at 6.8-7.0 GB) and most of the creation time, for no measurable gain per step (bench
 * sd-cpu). The UNet, run once per step, keeps ORT's memory arena (without it a step took 1.75x as
 * long), without ORT's memory pattern (it added a second block of 0.7 GB from the second step on) and
 * without prepacking (an fp32 file's UNet was created in 0.93 s instead of 5.67 s, same RSS). The
 * VAE decoder on the CPU also keeps an arena: without one every large buffer of a decode was new
 * pages from the kernel (130k page faults at 192x192), and a 512x512 decode took 2.8x the CPU time
 * (67.6 s against 24.2 s CPU, loaded machine, fp16 checkpoint) for a peak only 0.09 GB lower (1.24
 * against 1.33 GB); folding its weights to float32 for ORT's NCHWc convolutions (level 'all') cut
 * another 20% (19.4 s) but added 0.13 GB more, so it is not done. The arena keeps the decoder's
 * working memory after the decode, but the next decode's peak is the same. The VAE encoder keeps one
 * for the same reason: a 512x512 encode took 3.4x the CPU time without it (29.9-33.8 s against
 * 8.9-9.7 s, SD1.5 size, fp16, load 7) and it was most of what a face-detail pass adds to its steps;
 * its arena holds 0.5 GB after an encode (peak 0.99 against 0.85 GB). The text encoder, small, runs
 * without one, so its working memory goes back before the UNet runs.
 * FACECHAIN_SD_MEMORY=speed folds the UNet's and VAE decoder's weights to float32 at creation and lets
 * ORT's level 'all' lay convolutions out in NCHWc blocks (bench sd-memory-ab, SD1.5 fp16, one process:
 * UNet step 5.95 s against 7.73 s, decode 7.32 s against 9.21 s; creating the UNet takes about 55 s
 * against 2 s, once per machine: later sessions load ORT's saved graph from the converted cache in
 * about 1 s, optimized-cache.ts; folded at level 'extended' 18 s, for a step 4% slower). The UNet stays without
 * prepacking there too: with it a step was no faster (6.49 and 6.10 s against 5.95 and 6.05 s).
 * FACECHAIN_SD_MEMORY=int8 runs the UNet's transformer linear layers as 8-bit MatMulNBits (int8.ts),
 * with prepacking, and the VAE decoder folded as in speed mode: the weights it frees pay for the
 * decoder's float32 copy (txt2img peak 3.75 GB, bench sd-cpu).
 */
export function partOptions(part: SdPart, provider: Provider, memory: SdMemory = sdMemory()): Pick<Parameters<typeof PartSession.create>[1] & object, 'foldConstants' | 'arena' | 'memPattern' | 'prepack' | 'deviceOutputs' | 'optimization'> {
  // Measured on the CPU provider only: GPU providers keep the set-up their figures were measured with.
  const lean = leanPartOptions(part, provider);
  if (provider !== 'cpu' || memory === 'lean') return lean;
  const folded = { ...lean, foldConstants: true, optimization: 'all' as const };
  if (part === 'vaeDecoder') return folded;
  if (part !== 'unet') return lean;
  // int8: MatMulNBits packs its quantised B at creation for its int8 kernel (SD1.5 fp16 UNet step 8.21-8.58 s
  // without, 6.01-6.17 s with, interleaved); the rest of the UNet stays lean.
  return memory === 'speed' ? folded : { ...lean, prepack: true };
}

/** The UNet weights int8 mode quantises: its transformer linear layers, which are its LoRA targets. */
function int8Weights(targets: readonly LoraTarget[]): (weight: string) => boolean {
  const names = new Set(targets.map((t) => `${t.module}.weight`));
  return (weight) => names.has(weight);
}

function leanPartOptions(part: SdPart, provider: Provider): Omit<ReturnType<typeof partOptions>, 'optimization'> {
  if (part === 'unet' && provider === 'cpu') return { foldConstants: false, arena: true, memPattern: false, prepack: false };
  // WebGPU's UNet keeps its outputs on the GPU for the resident step loop (onnxruntime-node's IO
  // binding is WebGPU's only: its 'gpu-buffer' tensors); CUDA's come back to the host.
  if (part === 'unet') return { foldConstants: false, arena: true, ...(provider === 'webgpu' ? { deviceOutputs: true } : {}) };
  if ((part === 'vaeDecoder' || part === 'vaeEncoder') && provider === 'cpu') return { foldConstants: false, arena: true, memPattern: false };
  return { foldConstants: false, arena: false };
}

type PartSessionOptions = NonNullable<Parameters<typeof PartSession.create>[1]>;

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
    /** The session cache its sessions go through (an executor's); undefined: sessions of its own. */
    readonly sessionCache?: SessionManager,
    /** Where speed mode's optimised graphs and int8 mode's quantised weights are cached; undefined: made anew each time. */
    private readonly optimizedStore?: OptimizedStore,
  ) {}

  /** The ONNX model of a part, as bytes or a file. */
  graph(part: SdPart): PartModel {
    return this.models[part]();
  }

  session(part: SdPart): Promise<PartSession> {
    let s = this.sessions.get(part);
    if (!s) {
      s = this.createSession(part);
      this.sessions.set(part, s);
      s.catch(() => this.sessions.delete(part));
    }
    return s;
  }

  /**
   * A session of the caller's own for a part run once per image (the text encoder), which the caller
   * releases after use: through a session cache it is shared while other runs hold it, and released
   * once none does, so its weights (0.25 GB for SD1.5's fp16 text encoder) are not held while the UNet
   * and VAE run, at the cost of creating it again for the next run (0.7 s for SD1.5 on 2 cores).
   */
  lease(part: SdPart): Promise<PartSession> {
    return this.createSession(part, true);
  }

  /** Each created part's precision, and why float16 was not used where it was wanted but failed. */
  precisions(): Partial<Record<SdPart, PartPrecision>> {
    return Object.fromEntries(this.precision);
  }

  private readonly precision = new Map<SdPart, PartPrecision>();

  private setPrecision(part: SdPart, p: PartPrecision): void {
    this.precision.set(part, p);
    recordPrecision(part, p);
  }

  private async createSession(part: SdPart, transient = false): Promise<PartSession> {
    const model = this.models[part]();
    const bytesOf = () => ('bytes' in model ? model.bytes : readFileSync(model.path));
    // A provider whose fused attention is wrong gets the graph with it in standard ops instead.
    const rewritten = (await fusedAttentionCheck()).fused ? undefined : withoutFusedAttention(bytesOf());
    const source = rewritten ?? ('bytes' in model ? model.bytes : model.path);
    // Given as bytes, the graph's external weights are read from its own folder unless one is set.
    const weightsDir = this.weightsDir ?? ('path' in model ? path.dirname(model.path) : undefined);
    const provider = (await ensureProviderChoice()).provider;
    const mode = sdMemory();
    const set = partOptions(part, provider, mode);
    const options = { weightsDir: rewritten ? weightsDir : this.weightsDir, ...set, sessions: this.sessionCache, transient };
    const wanted = await sdPrecision();
    if (mode === 'int8' && part === 'unet' && provider === 'cpu' && wanted === 'fp32') {
      const q = await int8Graph(rewritten ?? bytesOf(), weightsDir, int8Weights(this.loraTargets.unet), this.optimizedStore?.modelsDir);
      this.setPrecision(part, { precision: 'fp32', memory: 'int8' });
      return this.create(part, q.bytes, { ...options, weightsDir: q.weightsDir });
    }
    const memory = set.foldConstants ? { memory: 'speed' as const } : {};
    if (wanted === 'fp16') {
      try {
        const session = await this.create(part, float16Graph(rewritten ?? bytesOf()), { ...options, weightsDir });
        this.setPrecision(part, { precision: 'fp16', ...memory });
        return session;
      } catch (e) {
        this.setPrecision(part, { precision: 'fp32', ...memory, refused: `fp16: ${(e as Error).message.split('\n')[0]}` });
        return this.create(part, source, options);
      }
    }
    this.setPrecision(part, { precision: 'fp32', ...memory });
    return this.create(part, source, options);
  }

  /** A part's session; speed mode's (folded, level 'all') from the cached optimised graph when there is one. */
  private create(part: SdPart, source: Uint8Array | string, options: PartSessionOptions): Promise<PartSession> {
    const store = this.optimizedStore;
    if (!store || !options.foldConstants || options.optimization !== 'all') return PartSession.create(source, options);
    const graph = typeof source === 'string' ? readFileSync(source) : source;
    return cachedOptimized(
      store, part, graph,
      (saveTo) => PartSession.create(source, { ...options, saveOptimized: saveTo }),
      // The saved graph is already optimised and holds its weights (beside it): nothing to redo.
      (file) => PartSession.create(file, { ...options, weightsDir: undefined, optimization: 'disabled' }),
    );
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
  o: BuildOptions & { weightsDir?: string; sessions?: SessionManager } = {},
): SdModel {
  const built = new Map(SD_PARTS.map((part) => [part, buildPart(config, part, weights, o)]));
  const models = Object.fromEntries(SD_PARTS.map((part) => {
    let bytes: Uint8Array | undefined;
    return [part, () => ({ bytes: (bytes ??= built.get(part)!.builder.toBytes()) })];
  })) as Record<SdPart, () => PartModel>;
  return new SdModel(id, config, tokenizer, models, {
    text: built.get('text')!.loraTargets, unet: built.get('unet')!.loraTargets,
  }, o.weightsDir, undefined, o.sessions);
}

// The graphs of one training step: the UNet with standard-op attention (rebuilt from the loaded model's
// own weights) plus an MSE on the noise, differentiated by our reverse-mode engine; with text-encoder
// training, the text encoder too, fed by the chain rule (see `gradients`).
import { addMseLoss, buildGradientGraph, gradName, SegmentedGradients, type SegmentStore } from '../onnx/grad/index.ts';
import { probeShapes } from './probe.ts';
import { encodeModel, GraphBuilder, type HostTensor, type ModelProto, type NodeProto } from '../onnx/index.ts';
import { toFloat16Model } from '../onnx/float16.ts';
import { fromFloat16 } from '../onnx/half.ts';
import { keepsFloat32 } from '../sd/fp16.ts';
import { buildPart, type BuiltPart } from '../sd/build.ts';
import { encodePrompts } from '../sd/encode-prompt.ts';
import { GraphWeights } from '../sd/graph-weights.ts';
import { loraFeeds, withoutEmptyBranches, type LoraBranches } from '../sd/lora-feeds.ts';
import { loraInputNames, type LoraTarget } from '../sd/lora-targets.ts';
import { externalDataOptions, PartSession, type Kept } from '../sd/part-session.ts';
import { promptChunks } from '../sd/prompt-chunks.ts';
import type { SdModel } from '../sd/sd-model.ts';
import type { SessionManager } from '../session/manager.ts';
import type { CompanionGraph } from '../session/ort.ts';
import { ensureProviderChoice } from '../session/providers.ts';
import { loraBranches, selectTargets, type LoraParams, type TargetSet } from './lora-params.ts';

export interface StepShape {
  batch: number;
  /** Latent side (resolution / 8). */
  side: number;
  targets: TargetSet;
  textEncoder: boolean;
  /** Recompute each UNet block's activations in the backward pass instead of keeping them (segments.ts). */
  recompute?: boolean;
  /** Attention heads per score tensor (undefined: all at once). */
  headsPerGroup?: number;
  /**
   * Mixed precision: the UNet's forward pass, and so its backward pass, in float16 (where SD's graphs
   * take it, `models/sd/fp16.ts`), the loss in float32 times a fed `loss_scale`; LoRA A/B stay float32
   * graph inputs (the master weights, cast to float16 inside) and their gradients come back float32.
   */
  mixedPrecision?: boolean;
}

/** What a training graph is run through: one session, or the segments of a recomputing one. */
export interface GradientRunner {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
  /** `run` with the feeds and outputs kept in `session`'s thread (the resident loop; on the GPU with WebGPU). */
  runKept(feeds: Record<string, Kept>): Promise<Record<string, Kept>>;
  /** A session of the thread `runKept` keeps its tensors in: tensors are put there and graphs run beside it. */
  session: PartSession;
  /** Segments its forward pass is cut into (1: one graph, nothing recomputed). */
  segments?: number;
}

const UNET_BLOCK = /^model\.diffusion_model\.(input_blocks\.\d+\.\d+|middle_block\.\d+|output_blocks\.\d+\.\d+|time_embed|out(?=[./]|$))/;

/** The UNet block module a node belongs to: time embedding, each input/output block's module, the middle block's parts, out. */
export function unetBlock(node: NodeProto): string {
  return UNET_BLOCK.exec(node.name ?? '')?.[1] ?? '';
}

/**
 * The UNet's segments for recompute: one per block module (`unetBlock`), and inside them each group of
 * attention heads (its scores and softmax are recomputed in its own backward, so one group's score
 * tensors are alive at a time).
 */
export function unetSegment(node: NodeProto): string {
  const block = unetBlock(node);
  const heads = block && /\.(attn[12])\.(heads\d+)\//.exec(node.name ?? '');
  return heads ? `${block}.${heads[1]}.${heads[2]}` : block;
}

/** One step's batch: noised latents, their timesteps, the noise added (the target) and each row's caption. */
export interface StepBatch {
  sample: Float32Array;
  timesteps: Float32Array;
  target: Float32Array;
  captions: readonly string[];
}

const inputNames = (targets: readonly LoraTarget[]) => targets.flatMap((t) => Object.values(loraInputNames(t)));

/** How a training graph is cut into runs of nodes ('' joins the current run). */
export interface RunnerCut {
  /** Cuts of the shape probe, each run as its own session (`probeShapes`). */
  probe: (n: NodeProto) => string;
  /** Segments recomputed in the backward pass (`SegmentedGradients`); undefined: one graph. */
  recompute?: (n: NodeProto) => string;
}

/** The worker thread recompute's segment sessions share (models/session/thread-session.ts). */
export const SEGMENT_THREAD = 'training-segments';

/**
 * The gradient graph of `forward` (loss `loss`) as one session, or cut into segments by `cut.recompute`
 * and recomputed (gradient checkpointing). Weights are read from `weightsDir` (external data).
 */
export async function trainingRunner(
  weightsDir: string | undefined, forward: ModelProto, trainable: readonly string[], probe: Record<string, HostTensor>, cut?: RunnerCut,
  sessions?: SessionManager,
): Promise<GradientRunner> {
  // No graph optimisation: onnxruntime then reads the frozen weights in place from the checkpoint file
  // (mapped, shared by every session) instead of copying them into each session, as constant folding
  // and the other levels do (measured: +1x the initializers' size per session at 'basic' and above).
  // The probe runs block by block: onnxruntime's run of the whole forward graph peaked at several times
  // one block's activations (tiny UNet at 512 px: 1.6 GiB whole, 0.4 GiB by blocks).
  // GPU providers get rank-0 LoRA branches as rank 1 of zeros (ORT's WebGPU crashes on empty tensors;
  // PartSession.run widens them there), so the shapes the graph is fixed to must be probed the same way.
  const { provider } = await ensureProviderChoice();
  const feeds = provider !== 'cpu' ? (withoutEmptyBranches(probe) as Record<string, HostTensor>) : probe;
  const infos = await probeShapes(forward, feeds, { ...externalDataOptions(weightsDir), graphOptimizationLevel: 'disabled' }, cut?.probe);
  // Segments run one after another: without an arena each gives its buffers back when it ends, where
  // arenas would each keep their own peak (measured: recompute then took more memory than none). They
  // share one worker thread: a thread of its own cost each of the SD1.5 UNet's ~600 segment sessions
  // about 13 MB (6.2 GiB in all at 512 px), one thread for all of them costs that once.
  // WebGPU keeps outputs on the GPU for the resident loop (ORT's IO binding); `run` brings them back.
  const deviceOutputs = provider === 'webgpu';
  if (!cut?.recompute) {
    const model = encodeModel(buildGradientGraph(forward, { loss: 'loss', trainable, infos }));
    const session = await PartSession.create(model, { weightsDir, optimization: 'disabled', sessions, deviceOutputs });
    return { run: (f) => session.run(f), runKept: (f) => session.runKept(f, 'device'), release: () => session.release(), session };
  }
  let first: PartSession | undefined;
  const segmented = await SegmentedGradients.create(forward, {
    loss: 'loss', trainable, infos, segmentOf: cut.recompute,
    createSession: async (m) => {
      const s = await PartSession.create(encodeModel(m), { weightsDir, optimization: 'disabled', arena: false, thread: SEGMENT_THREAD, deviceOutputs });
      first ??= s;
      return s;
    },
  });
  const session = first!;
  const store = keptStore(session);
  return {
    run: async (feeds) => {
      const { loss, grads } = await segmented.run(feeds);
      return { loss: { dtype: 'float32', dims: [], data: Float32Array.of(loss) }, ...grads };
    },
    runKept: async (feeds) => {
      // The step's host inputs go to the thread once, not once per segment that reads them.
      const put = await session.put(Object.fromEntries(Object.entries(feeds).filter((e): e is [string, HostTensor] => !('resident' in e[1]))), 'device');
      try {
        const { loss, grads } = await segmented.runWith({ ...feeds, ...put }, store);
        return { loss, ...grads };
      } finally {
        await session.free(Object.values(put));
      }
    },
    release: () => segmented.release(),
    session,
    segments: segmented.size,
  };
}

/** Recompute's values kept in the segments' shared thread: gradients summed there by a graph beside `session`. */
function keptStore(session: PartSession): SegmentStore<Kept, PartSession> {
  const graphs = { float32: addGraph('float32'), float16: addGraph('float16'), toFloat16: castGraph() };
  return {
    run: (runner, feeds) => runner.runKept(feeds, 'device'),
    put: async (t) => {
      if (t.dtype !== 'float16') return (await session.put({ t }, 'device')).t!;
      // Uploads to the GPU go through a float32 copy graph: float16 goes up as float32 and is cast there (exact).
      const { x } = await session.put({ x: { dtype: 'float32', dims: t.dims, data: fromFloat16(t.data as Uint16Array) } }, 'device');
      try {
        return (await session.runKept({ x: x! }, 'device', graphs.toFloat16)).y!;
      } finally {
        await session.free([x!]);
      }
    },
    add: async (a, b, dtype) => (await session.runKept({ a, b }, 'device', graphs[dtype])).y!,
    free: (ts) => session.free(ts),
  };
}

function castGraph(): CompanionGraph {
  const b = new GraphBuilder({ graphName: 'to-float16' });
  b.output(b.cast(b.input('x', 'float32'), 'float16'), 'y', 'float16');
  return { key: 'to-float16', model: b.toBytes() };
}

/** a + b; float16 summed in float32 and cast back, as `addHost` does on the host. */
function addGraph(dtype: 'float32' | 'float16'): CompanionGraph {
  const b = new GraphBuilder({ graphName: `segment-add-${dtype}` });
  const [x, y] = [b.input('a', dtype), b.input('b', dtype)];
  const sum = dtype === 'float32' ? b.add(x, y) : b.cast(b.add(b.cast(x, 'float32'), b.cast(y, 'float32')), 'float16');
  b.output(sum, 'y', dtype);
  return { key: `segment-add-${dtype}`, model: b.toBytes() };
}

/**
 * The UNet's forward graph for training: standard-op attention (which the gradient rules cover) on the
 * loaded model's own initializers, whose external data still points into the checkpoint file (the
 * sampler's sessions read the same bytes; nothing is copied), and the MSE on the noise as `loss`.
 */
export function unetTrainingPart(model: SdModel, headsPerGroup?: number, lossScale = false): BuiltPart {
  const part = buildPart(model.config, 'unet', GraphWeights.of(model.graph('unet')), { attention: 'decomposed', headsPerGroup });
  const b = part.builder;
  const target = b.input('target', 'float32', ['batch', model.config.unet.inChannels, 'height', 'width']);
  if (!lossScale) {
    addMseLoss(b, { name: 'eps', dtype: 'float32' }, target);
    return part;
  }
  const scale = b.input('loss_scale', 'float32', []);
  const mse = b.scope(LOSS_SCOPE, () => {
    const diff = b.sub({ name: 'eps', dtype: 'float32' }, target);
    return b.op('ReduceMean', [b.mul(diff, diff)], { keepdims: 0 });
  });
  // Made as the output itself: an Identity to the output would compute in float16.
  const [loss] = b.opN('Mul', [mse, scale], ['loss']);
  b.output(loss!, 'loss', 'float32');
  return part;
}

/** The scope of the scaled loss, kept in float32 with its backward (so the scale can exceed float16's range). */
const LOSS_SCOPE = 'scaled_loss';

/** The training UNet's forward pass in float16 (SD's float32 ops and the scaled loss stay float32). */
function float16Training(forward: ModelProto): ModelProto {
  return toFloat16Model(forward, (n) => keepsFloat32(n) || (n.name ?? '').startsWith(`${LOSS_SCOPE}/`) || n.output?.[0] === 'loss');
}

export class StepGraphs {
  private constructor(
    private readonly model: SdModel,
    private readonly shape: StepShape,
    private readonly unet: { part: BuiltPart; session: GradientRunner },
    private readonly text: { part: BuiltPart; session: GradientRunner } | undefined,
    private readonly tokenIds: ReadonlyMap<string, number[]>,
    /** Caption embeddings when the text encoder is frozen (they never change). */
    private readonly frozenContext: ReadonlyMap<string, Float32Array> | undefined,
  ) {}

  /** How many segments the UNet's step is cut into for recompute (1 without). */
  get unetSegments(): number {
    return this.unet.session.segments ?? 1;
  }

  /** The LoRA targets a run with this shape trains (UNet first, then the text encoder's). */
  static targets(model: SdModel, shape: StepShape): LoraTarget[] {
    return [
      ...selectTargets(model.loraTargets.unet, shape.targets),
      ...(shape.textEncoder ? selectTargets(model.loraTargets.text, shape.targets) : []),
    ];
  }

  static async create(model: SdModel, shape: StepShape, params: LoraParams, captions: readonly string[]): Promise<StepGraphs> {
    const { contextTokens: tokens, width } = model.config.text;
    // Captions are not prompts: WD14 tags such as `x_(cosplay)` must not reweight the conditioning.
    const chunks = captions.map((c) => promptChunks(model.tokenizer, c, tokens, true));
    if (chunks.some((c) => c.length > 1)) throw new Error('inputs.dataset: captions longer than 75 tokens are not supported in training');
    const tokenIds = new Map(captions.map((c, i) => [c, chunks[i]![0]!.ids]));
    const trained = new Set(params.modules.map((m) => m.target.name));
    const trainedOf = (part: BuiltPart) => part.loraTargets.filter((t) => trained.has(t.name));
    const channels = model.config.unet.inChannels;
    const { batch, side } = shape;
    const zeros = (n: number) => new Float32Array(n);

    const unetPart = unetTrainingPart(model, shape.headsPerGroup, shape.mixedPrecision);
    const unetProbe = unetFeeds(loraFeeds(unetPart.loraTargets, loraBranches(params)), shape, channels, tokens, width, {
      sample: zeros(batch * channels * side * side), timesteps: zeros(batch), target: zeros(batch * channels * side * side), captions: [],
    }, zeros(batch * tokens * width), 1);
    const forward = unetPart.builder.toModel();
    const unetSession = await trainingRunner(
      model.weightsDir, shape.mixedPrecision ? float16Training(forward) : forward, [...inputNames(trainedOf(unetPart)), ...(shape.textEncoder ? ['context'] : [])], unetProbe,
      { probe: unetBlock, recompute: shape.recompute ? unetSegment : undefined }, model.sessionCache,
    );

    let text: { part: BuiltPart; session: GradientRunner } | undefined;
    if (shape.textEncoder) {
      // The text graph's "loss" is Σ hidden · upstream: fed d(loss)/d(context) from the UNet graph, its
      // gradients are those of the UNet's loss with respect to the text encoder's LoRA (chain rule).
      const part = buildPart(model.config, 'text', GraphWeights.of(model.graph('text')));
      const b = part.builder;
      const upstream = b.input('upstream', 'float32', ['batch', tokens, width]);
      b.output(b.op('ReduceSum', [b.mul({ name: 'hidden', dtype: 'float32' }, upstream)], { keepdims: 0 }), 'loss', 'float32');
      const probe = textFeeds(part, loraBranches(params), Array(batch).fill(captions[0]), tokenIds, tokens, width, zeros(batch * tokens * width));
      text = { part, session: await trainingRunner(model.weightsDir, b.toModel(), inputNames(trainedOf(part)), probe, undefined, model.sessionCache) };
    }
    const frozenContext = shape.textEncoder ? undefined : await encodeCaptions(model, captions, undefined);
    return new StepGraphs(model, shape, { part: unetPart, session: unetSession }, text, tokenIds, frozenContext);
  }

  /**
   * The UNet's MSE on `batch` and its gradients by graph input name (`grad.<target>.A` / `.B`), for the
   * fed (scaled) B. Mixed precision: loss and gradients are those of the loss times `lossScale`.
   */
  async gradients(params: LoraParams, batch: StepBatch, lossScale = 1): Promise<{ loss: number; grads: Record<string, HostTensor> }> {
    const { contextTokens: tokens, width } = this.model.config.text;
    const channels = this.model.config.unet.inChannels;
    // The scaled branches once per step, for every graph that takes them.
    const branches = loraBranches(params);
    // The model's own text session, kept between steps (a lease per step would create it again each time).
    const embedded = this.frozenContext ?? (await encodeCaptions(this.model, [...this.tokenIds.keys()], branches, await this.model.session('text')));
    const context = new Float32Array(this.shape.batch * tokens * width);
    batch.captions.forEach((c, j) => context.set(embedded.get(c)!, j * tokens * width));
    const { loss, ...grads } = await this.unet.session.run(unetFeeds(loraFeeds(this.unet.part.loraTargets, branches), this.shape, channels, tokens, width, batch, context, lossScale));
    if (this.text) {
      const upstream = grads[gradName('context')]!.data as Float32Array;
      const { loss: _, ...textGrads } = await this.text.session.run(textFeeds(this.text.part, branches, batch.captions, this.tokenIds, tokens, width, upstream));
      Object.assign(grads, textGrads);
    }
    return { loss: (loss!.data as Float32Array)[0]!, grads };
  }

  /**
   * A session of the thread the resident loop keeps its tensors in, when it can run: with the text
   * encoder frozen (a trained one's LoRA is needed on the host each step to embed the captions, and its
   * graph is a second session in another thread, so the host loop trains it).
   */
  get residentSession(): PartSession | undefined {
    return this.text ? undefined : this.unet.session.session;
  }

  /** The UNet graph's LoRA inputs of the targets `params` does not train (rank 0: they add nothing). */
  untrainedFeeds(params: LoraParams): Record<string, HostTensor> {
    const trained = new Set(params.modules.map((m) => m.target.name));
    return loraFeeds(this.unet.part.loraTargets.filter((t) => !trained.has(t.name)));
  }

  /** `gradients` with the LoRA feeds kept in the step's session (ResidentLora's): the loss and gradients stay there too. */
  async keptGradients(lora: Record<string, Kept>, batch: StepBatch, lossScale = 1): Promise<Record<string, Kept>> {
    if (!this.frozenContext) throw new Error('the resident training loop needs a frozen text encoder');
    const { contextTokens: tokens, width } = this.model.config.text;
    const context = new Float32Array(this.shape.batch * tokens * width);
    batch.captions.forEach((c, j) => context.set(this.frozenContext!.get(c)!, j * tokens * width));
    return this.unet.session.runKept(unetFeeds(lora, this.shape, this.model.config.unet.inChannels, tokens, width, batch, context, lossScale));
  }

  async release(): Promise<void> {
    await this.unet.session.release();
    await this.text?.session.release();
  }
}

function unetFeeds<T>(
  lora: Record<string, T>, shape: StepShape, channels: number, tokens: number, width: number, batch: StepBatch, context: Float32Array,
  lossScale: number,
): Record<string, HostTensor | T> {
  const { side } = shape;
  return {
    ...(shape.mixedPrecision ? { loss_scale: { dtype: 'float32', dims: [], data: Float32Array.of(lossScale) } } : {}),
    sample: { dtype: 'float32', dims: [shape.batch, channels, side, side], data: batch.sample },
    timestep: { dtype: 'float32', dims: [shape.batch], data: batch.timesteps },
    context: { dtype: 'float32', dims: [shape.batch, tokens, width], data: context },
    target: { dtype: 'float32', dims: [shape.batch, channels, side, side], data: batch.target },
    ...lora,
  };
}

function textFeeds(
  part: BuiltPart, branches: LoraBranches, captions: readonly string[], tokenIds: ReadonlyMap<string, number[]>, tokens: number, width: number, upstream: Float32Array,
): Record<string, HostTensor> {
  return {
    input_ids: { dtype: 'int64', dims: [captions.length, tokens], data: BigInt64Array.from(captions.flatMap((c) => tokenIds.get(c)!.map(BigInt))) },
    upstream: { dtype: 'float32', dims: [captions.length, tokens, width], data: upstream },
    ...loraFeeds(part.loraTargets, branches),
  };
}

/** Each caption's text-encoder output [tokens * width], with the text LoRA when given. */
async function encodeCaptions(model: SdModel, captions: readonly string[], lora: LoraBranches | undefined, session?: PartSession): Promise<Map<string, Float32Array>> {
  const encoded = await encodePrompts(model, captions, { lora, literal: true, ...(session ? { session } : {}) });
  return new Map(captions.map((c, i) => [c, encoded[i]!.data]));
}

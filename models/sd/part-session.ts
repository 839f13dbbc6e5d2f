import path from 'node:path';
import { ownSession, type SessionLease, type SessionManager } from '../session/manager.ts';
import type { Provider } from '../session/providers.ts';
import type { CompanionGraph, ort, OrtTensor, ResidentTensor, SessionFeed } from '../session/ort.ts';
import { fromOrtTensor, toOrtTensor, type Feed } from '../session/tensors.ts';
import type { HostTensor } from '../onnx/index.ts';
import { withoutEmptyBranches } from './lora-feeds.ts';

/** Session options that read a model given as bytes' external initializers from `weightsDir`. */
export function externalDataOptions(weightsDir: string | undefined): ort.InferenceSession.SessionOptions {
  return weightsDir ? { extra: { session: { model_external_initializers_file_folder_path: weightsDir } } } : {};
}

/**
 * Where `runKept`'s outputs stay: 'device' in the session's thread, on the GPU for sessions made with
 * `deviceOutputs` on a GPU provider (ORT's IO binding); 'host' copied back to JS arrays (the plain
 * path, which the device one must match exactly).
 */
export type KeepIn = 'device' | 'host';
/** A tensor `runKept` or `put` gave: resident in the session's thread, or a host copy. */
export type Kept = ResidentTensor | HostTensor;

/** One ORT session of an SD graph, fed and read as HostTensors (or ready ORT tensors). */
export class PartSession {
  private constructor(private readonly lease: SessionLease) {}

  /**
   * `model` is the .onnx bytes or path; `weightsDir` is the folder its external initializers are read
   * from when given as bytes (the checkpoint's folder). `foldConstants: false` keeps ORT from
   * precomputing constant subgraphs, above all the Cast of each fp16 weight to float32.
   */
  static async create(
    model: Uint8Array | string,
    o: {
      weightsDir?: string;
      threads?: number;
      optimization?: 'disabled' | 'basic' | 'extended' | 'all';
      /** false: ORT keeps fp16 weights' Casts unfolded, so no float32 copy of them is made. */
      foldConstants?: boolean;
      /** false: no memory arena, every buffer is freed after the run (for many sessions run in turn). */
      arena?: boolean;
      /**
       * false: no memory pattern. With one, ORT plans the run's buffers after the first run and from the
       * second on allocates them as one block beside what the arena already holds (SD1.5 UNet at
       * 512x512: RSS 2.62 GB after the first step, 3.30 GB after the second; without it 2.62 GB both).
       */
      memPattern?: boolean;
      /**
       * false: ORT does not prepack constant weights at creation (MatMul/Gemm B repacked into a copy).
       * SD1.5 UNet from an fp32 file: created in 0.93 s against 5.67 s, same RSS after a step (3.91 GB),
       * step CPU time 12.7 s against 13.8 s; the weights are read from the file on the first step.
       */
      prepack?: boolean;
      /** Outputs on the GPU (`preferredOutputLocation: 'gpu-buffer'`, WebGPU only) for `runKept`; `run` still brings them back. */
      deviceOutputs?: boolean;
      /** This provider instead of the process's choice (the GPU check's float32 CPU reference). */
      provider?: Provider;
      /** The session cache to share it through (an executor's); none: a session of its own, released with it. */
      sessions?: SessionManager;
      /** Sessions with the same name share one worker thread (many small sessions run in turn). */
      thread?: string;
      /** Released with its last lease rather than kept in the session cache (a part used once per run). */
      transient?: boolean;
      /** Where ORT writes the optimised graph (`optimizedModelFilePath`), its weights beside it in `<file>.weights`. */
      saveOptimized?: string;
    } = {},
  ): Promise<PartSession> {
    const folder = externalDataOptions(o.weightsDir).extra?.session as Record<string, string> | undefined;
    const saved = o.saveOptimized
      ? { optimized_model_external_initializers_file_name: `${path.basename(o.saveOptimized)}.weights`, optimized_model_external_initializers_min_size_in_bytes: '1024' }
      : {};
    const session = { ...folder, ...saved, ...(o.prepack === false ? { disable_prepacking: '1' } : {}) };
    const external = Object.keys(session).length ? { session } : undefined;
    const options: ort.InferenceSession.SessionOptions = {
      // 'extended': measured on the 2-core CPU with the full SD1.5 UNet, 'all' (which adds CPU layout
      // transforms) took 80-110 s to create against 25-38 s, for no clear per-step gain.
      graphOptimizationLevel: o.optimization ?? 'extended',
      ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
      ...(external || o.foldConstants === false
        ? { extra: { ...external, ...(o.foldConstants === false ? { optimization: { disable_specified_optimizers: 'ConstantFolding' } } : {}) } }
        : {}),
      ...(o.arena === false ? { enableCpuMemArena: false, enableMemPattern: false } : o.memPattern === false ? { enableMemPattern: false } : {}),
      ...(o.provider ? { executionProviders: [o.provider] } : {}),
      ...(o.deviceOutputs ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      // ORT warns that a graph saved at level 'all' is hardware-specific: the cache key holds the CPU's flags.
      ...(o.saveOptimized ? { optimizedModelFilePath: o.saveOptimized, logSeverityLevel: 3 as const } : {}),
    };
    // Shared through the session cache: a model built again with the same bytes reuses the session.
    const spec = { model, options, ...(o.thread === undefined ? {} : { thread: o.thread }), ...(o.transient ? { transient: true } : {}) };
    return new PartSession(await (o.sessions ? o.sessions.acquire(spec) : ownSession(spec)));
  }

  /** The options ORT created the session with (threads, provider, optimisations). */
  get options(): ort.InferenceSession.SessionOptions {
    return this.lease.session.options;
  }

  get inputNames(): readonly string[] {
    return this.lease.session.inputNames;
  }

  /** Whether the session runs on the CPU provider (GPU providers get rank-0 LoRA branches widened). */
  get onCpu(): boolean {
    return (this.options.executionProviders ?? ['cpu']).every((p) => (typeof p === 'string' ? p : p.name) === 'cpu');
  }

  async run(feeds: Record<string, Feed | ResidentTensor>): Promise<Record<string, HostTensor>> {
    return hostOutputs(await this.lease.session.run(this.ortFeeds(feeds)));
  }

  /** Runs the session, or `graph` beside it (its thread, its provider), keeping the outputs `where` says. */
  async runKept(feeds: Record<string, Feed | Kept>, where: KeepIn, graph?: CompanionGraph): Promise<Record<string, Kept>> {
    const s = this.lease.session;
    const ortFeeds = this.ortFeeds(feeds);
    if (where === 'device') return s.runResident(ortFeeds, graph);
    return hostOutputs(await (graph ? s.runBeside(graph, ortFeeds) : s.run(ortFeeds)));
  }

  /** Host tensors as `runKept` feeds, made resident for 'device' (LoRA branches widened for GPUs, as `run` does). */
  async put(feeds: Record<string, HostTensor>, where: KeepIn): Promise<Record<string, Kept>> {
    const given = this.onCpu ? feeds : (withoutEmptyBranches(feeds) as Record<string, HostTensor>);
    if (where === 'host') return given;
    const out: Record<string, Kept> = {};
    for (const [name, t] of Object.entries(given)) out[name] = await this.lease.session.upload(toOrtTensor(t));
    return out;
  }

  async get(t: Kept): Promise<HostTensor> {
    return 'resident' in t ? fromOrtTensor(await this.lease.session.download(t)) : t;
  }

  async free(tensors: readonly Kept[]): Promise<void> {
    await this.lease.session.free(tensors.filter((t): t is ResidentTensor => 'resident' in t));
  }

  private ortFeeds(feeds: Record<string, Feed | Kept>): Record<string, SessionFeed> {
    const out: Record<string, SessionFeed> = {};
    const host: Record<string, Feed> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if ('resident' in t) out[name] = t;
      else host[name] = t;
    }
    for (const [name, t] of Object.entries(this.onCpu ? host : withoutEmptyBranches(host))) out[name] = toOrtTensor(t);
    return out;
  }

  async release(): Promise<void> {
    await this.lease.release();
  }
}

function hostOutputs(out: Record<string, OrtTensor>): Record<string, HostTensor> {
  const result: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(out)) result[name] = fromOrtTensor(t);
  return result;
}

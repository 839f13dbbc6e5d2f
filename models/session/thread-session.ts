// An ORT session in its own worker thread, behind the same run/release surface as ort.InferenceSession.
// onnxruntime-node's run is synchronous on the calling thread (measured: a 2 s run delayed the event
// loop by 2 s), so sessions live in worker threads and the main thread only posts feeds and reads
// outputs: the server answers requests while a UNet step runs. Feeds are copied (a UNet step's are
// under 1 MB), outputs are transferred. Many sessions run in turn can share one thread (`thread`).
import { Worker } from 'node:worker_threads';
import { GraphBuilder } from '../onnx/index.ts';
import { ort, type CompanionGraph, type OrtSession, type OrtSessionOptions, type OrtTensor, type ResidentTensor, type SessionFeed } from './ort.ts';

type Metadata = ort.InferenceSession['inputMetadata'];
interface Created {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: Metadata;
  outputMetadata: Metadata;
  options: OrtSessionOptions;
  /** The worker thread's id (worker_threads' threadId). */
  threadId: number;
}
interface PlainTensor { type: OrtTensor['type']; dims: number[]; data: OrtTensor['data'] }
interface Kept { ref: number; type: OrtTensor['type']; dims: number[]; location: string }

/** A tensor resident in a SessionThread, known here by its id there. */
class Resident implements ResidentTensor {
  readonly resident = true;
  constructor(readonly thread: SessionThread, readonly ref: number, readonly type: OrtTensor['type'], readonly dims: readonly number[], readonly location: string) {}
}

/**
 * The graph that moves float32 tensors of any shape between host and GPU in a GPU session's thread
 * (run with its output on the GPU to upload, on the CPU to download: the node binding has no other way).
 */
function copyGraph(): Uint8Array {
  const b = new GraphBuilder({ graphName: 'copy' });
  b.output(b.identity(b.input('x', 'float32')), 'y', 'float32');
  return b.toBytes();
}

/**
 * A worker thread that holds ORT sessions: its own (one session), or one shared by name (`thread` in
 * `ThreadSession.create`), for many sessions run one after another (recompute's segments): a thread
 * costs about 13 MB (measured: 14 MB a session each in its own thread), sessions in one thread far less.
 * A shared thread ends when its last session is released.
 */
class SessionThread {
  private static readonly shared = new Map<string, SessionThread>();
  private nextId = 0;
  private nextSid = 0;
  private sessions = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private readonly worker = new Worker(new URL('./session-thread.js', import.meta.url));

  private constructor(private readonly name?: string) {
    this.worker.unref();
    this.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => this.settle(m.id, m.error === undefined ? { value: m.result } : { error: new Error(m.error) }));
    this.worker.on('error', (e: Error) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`session thread exited (code ${code})`)));
  }

  /** A new thread of its own, or the live one shared under `name`; the caller holds one of its sessions (`drop` gives it back). */
  static take(name?: string): { thread: SessionThread; sid: number } {
    let thread = name === undefined ? undefined : SessionThread.shared.get(name);
    if (!thread) {
      thread = new SessionThread(name);
      if (name !== undefined) SessionThread.shared.set(name, thread);
    }
    thread.sessions++;
    return { thread, sid: thread.nextSid++ };
  }

  /** One session less; the thread ends with its last. */
  async drop(): Promise<void> {
    if (--this.sessions > 0) return;
    if (this.name !== undefined && SessionThread.shared.get(this.name) === this) SessionThread.shared.delete(this.name);
    await this.worker.terminate();
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  call(op: string, body: object, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // A thread waited on keeps the process alive; an idle one does not hold it open.
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, ...body }, transfer);
    });
  }

  private settle(id: number, outcome: { value: unknown } | { error: Error }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    if ('error' in outcome) p.reject(outcome.error);
    else p.resolve(outcome.value);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    if (this.name !== undefined && SessionThread.shared.get(this.name) === this) SessionThread.shared.delete(this.name);
    for (const id of [...this.pending.keys()]) this.settle(id, { error: this.failure });
  }
}

export class ThreadSession implements OrtSession {
  private released = false;

  private constructor(private readonly thread: SessionThread, private readonly sid: number, private readonly created: Created) {}

  /**
   * Creates the session in a new thread, or in the thread shared under `thread` (sessions run in turn,
   * each after the other); `options` go to ORT as they are (`options` echoes what it got).
   */
  static async create(model: string | Uint8Array, options: OrtSessionOptions, thread?: string): Promise<ThreadSession> {
    const t = SessionThread.take(thread);
    const copy = options.preferredOutputLocation === undefined ? undefined : copyGraph();
    try {
      return new ThreadSession(t.thread, t.sid, (await t.thread.call('create', { sid: t.sid, model, options, copy })) as Created);
    } catch (e) {
      await t.thread.drop();
      throw e;
    }
  }

  get inputNames(): readonly string[] { return this.created.inputNames; }
  get outputNames(): readonly string[] { return this.created.outputNames; }
  get inputMetadata(): Metadata { return this.created.inputMetadata; }
  get outputMetadata(): Metadata { return this.created.outputMetadata; }
  /** The options ORT's session creation was given, provider and threads included. */
  get options(): OrtSessionOptions { return this.created.options; }
  /** The worker thread it lives in: equal for sessions that share one. */
  get threadId(): number { return this.created.threadId; }

  run(feeds: Record<string, SessionFeed>): Promise<Record<string, OrtTensor>> {
    return this.runBeside(undefined, feeds);
  }

  async runBeside(graph: CompanionGraph | undefined, feeds: Record<string, SessionFeed>): Promise<Record<string, OrtTensor>> {
    const out = (await this.thread.call('run', { sid: this.sid, feeds: this.posted(feeds), graph, keep: false })) as Record<string, PlainTensor>;
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, hostTensor(t)]));
  }

  async runLent(feeds: Record<string, OrtTensor>, outputs: Record<string, OrtTensor>): Promise<{ feeds: Record<string, OrtTensor>; outputs: Record<string, OrtTensor> }> {
    const lent = (ts: Record<string, OrtTensor>) => Object.fromEntries(Object.entries(ts).map(([name, t]) => [name, { type: t.type, dims: [...t.dims], data: t.data }]));
    const body = { sid: this.sid, feeds: lent(feeds), outputs: lent(outputs) };
    const buffers = [...Object.values(body.feeds), ...Object.values(body.outputs)].map((t) => (t.data as Float32Array).buffer);
    if (!buffers.every((b) => b instanceof ArrayBuffer)) throw new Error('runLent: every tensor must be over an ArrayBuffer (not shared memory)');
    const back = (await this.thread.call('runLent', body, [...new Set(buffers as ArrayBuffer[])])) as { feeds: Record<string, PlainTensor>; outputs: Record<string, PlainTensor> };
    const host = (ts: Record<string, PlainTensor>) => Object.fromEntries(Object.entries(ts).map(([name, t]) => [name, hostTensor(t)]));
    return { feeds: host(back.feeds), outputs: host(back.outputs) };
  }

  async runResident(feeds: Record<string, SessionFeed>, graph?: CompanionGraph): Promise<Record<string, ResidentTensor>> {
    const out = (await this.thread.call('run', { sid: this.sid, feeds: this.posted(feeds), graph, keep: true })) as Record<string, Kept>;
    return Object.fromEntries(Object.entries(out).map(([name, k]) => [name, this.resident(k)]));
  }

  async upload(tensor: OrtTensor): Promise<ResidentTensor> {
    const { t } = (await this.thread.call('put', { sid: this.sid, tensor: this.posted({ t: tensor }).t })) as { t: Kept };
    return this.resident(t);
  }

  async download(tensor: ResidentTensor): Promise<OrtTensor> {
    const { t } = (await this.thread.call('get', { sid: this.sid, ref: this.own(tensor).ref })) as { t: PlainTensor };
    return hostTensor(t);
  }

  async free(tensors: readonly ResidentTensor[]): Promise<void> {
    if (tensors.length === 0 || this.thread.failed) return;
    await this.thread.call('free', { refs: tensors.map((t) => this.own(t).ref) });
  }

  private resident(k: Kept): Resident {
    return new Resident(this.thread, k.ref, k.type, k.dims, k.location);
  }

  private own(t: ResidentTensor): Resident {
    if (!(t instanceof Resident) || t.thread !== this.thread) throw new Error('a resident tensor can only be used by sessions of the thread that holds it');
    return t;
  }

  private posted(feeds: Record<string, SessionFeed>): Record<string, PlainTensor | { ref: number }> {
    const plain: Record<string, PlainTensor | { ref: number }> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if ('resident' in t) plain[name] = { ref: this.own(t).ref };
      else if (t.location !== 'cpu') throw new Error(`feed ${name} is on ${t.location}: only CPU and resident tensors can be fed`);
      else plain[name] = { type: t.type, dims: [...t.dims], data: ownBuffer(t.data) };
    }
    return plain;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (!this.thread.failed) await this.thread.call('release', { sid: this.sid });
    await this.thread.drop();
  }
}

function hostTensor(t: PlainTensor): OrtTensor {
  return new ort.Tensor(t.type, t.data as never, t.dims);
}

/** A view's own bytes: posting a view clones its whole buffer, which for a slice of a large weight is far more. */
function ownBuffer(data: OrtTensor['data']): OrtTensor['data'] {
  if (!ArrayBuffer.isView(data) || (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength)) return data;
  return (data as Float32Array).slice() as never;
}

// An ORT session in its own worker thread, behind the same run/release surface as ort.InferenceSession.
// onnxruntime-node's run is synchronous on the calling thread (measured: a 2 s run delayed the event
// loop by 2 s), so sessions live in worker threads and the main thread only posts feeds and reads
// outputs: the server answers requests while a UNet step runs. Feeds are copied (a UNet step's are
// under 1 MB), outputs are transferred. A thread costs about 1 MB beside its session.
import { Worker } from 'node:worker_threads';
import { ort, type OrtSession, type OrtSessionOptions, type OrtTensor } from './ort.ts';

type Metadata = ort.InferenceSession['inputMetadata'];
interface Created {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: Metadata;
  outputMetadata: Metadata;
  options: OrtSessionOptions;
}
interface PlainTensor { type: OrtTensor['type']; dims: number[]; data: OrtTensor['data'] }

export class ThreadSession implements OrtSession {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker, private created: Created = undefined as never) {
    worker.unref();
    worker.on('message', (m: { id: number; result?: unknown; error?: string }) => this.settle(m.id, m.error === undefined ? { value: m.result } : { error: new Error(m.error) }));
    worker.on('error', (e: Error) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`session thread exited (code ${code})`)));
  }

  /** Creates the session in a new thread; `options` go to ORT as they are (`options` echoes what it got). */
  static async create(model: string | Uint8Array, options: OrtSessionOptions): Promise<ThreadSession> {
    const s = new ThreadSession(new Worker(new URL('./session-thread.js', import.meta.url)));
    try {
      s.created = (await s.call('create', { model, options })) as Created;
    } catch (e) {
      await s.worker.terminate();
      throw e;
    }
    return s;
  }

  get inputNames(): readonly string[] { return this.created.inputNames; }
  get outputNames(): readonly string[] { return this.created.outputNames; }
  get inputMetadata(): Metadata { return this.created.inputMetadata; }
  get outputMetadata(): Metadata { return this.created.outputMetadata; }
  /** The options ORT's session creation was given, provider and threads included. */
  get options(): OrtSessionOptions { return this.created.options; }

  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    const plain: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t.location !== 'cpu') throw new Error(`feed ${name} is on ${t.location}: only CPU tensors can be fed`);
      plain[name] = { type: t.type, dims: [...t.dims], data: ownBuffer(t.data) };
    }
    const out = (await this.call('run', { feeds: plain })) as Record<string, PlainTensor>;
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)]));
  }

  async release(): Promise<void> {
    if (this.failure) return;
    await this.call('release', {});
    await this.worker.terminate();
  }

  private call(op: string, body: object): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // A thread waited on keeps the process alive; an idle one does not hold it open.
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, ...body });
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
    for (const id of [...this.pending.keys()]) this.settle(id, { error: this.failure });
  }
}

/** A view's own bytes: posting a view clones its whole buffer, which for a slice of a large weight is far more. */
function ownBuffer(data: OrtTensor['data']): OrtTensor['data'] {
  if (!ArrayBuffer.isView(data) || (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength)) return data;
  return (data as Float32Array).slice() as never;
}

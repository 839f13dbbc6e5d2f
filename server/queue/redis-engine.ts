import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type RunEvent, type RunListener, isActive, newRun, reduceRun, runSummary } from '../../protocol/index.ts';
import type { NodeRegistry } from '../../runtime/registry.ts';
import { planSweep, sweepOf } from '../../runtime/sweep/plan.ts';
import { assertGraph } from '../../runtime/validate.ts';
import { HttpError } from '../http-error.ts';
import type { RunHistory } from '../run-history.ts';
import { interruptedGraph, type Accepted, type FrameListener, type LiveRun, type RunEngine } from './engine.ts';
import { modelsNeeded } from '../../runtime/models-needed.ts';
import type { CheckedGraph } from '../../runtime/validate.ts';
import { affinityKeys, heldKey, preferredWorker, runsHeld } from './affinity.ts';
import {
  appendEvent, appendEvents, assertReachable, CANCEL_CHANNEL, cancelKey, connect, frameRunId, PREVIEWS_CHANNEL, HEARTBEAT_MS, liveWorkers, MODEL_SETS, readEvents, RUNS_QUEUE, runsQueue, streamEnd, workerQueue, type StreamEntry, type WorkerInfo,
} from './redis-stream.ts';
import { WORKER_LOG, type RunJob } from './redis-worker.ts';
import { jobEnd, lostEndEvents } from './lost-ends.ts';
import { OutputFetch } from './output-fetch.ts';
import type { RunOutputs } from './worker-outputs.ts';

export interface RedisEngineOptions {
  url: string;
  registry: NodeRegistry;
  /** Where this server saves the runs it sees, as the embedded engine does. */
  history: RunHistory;
  /** Ended runs also kept in memory. */
  historyLimit?: number;
}

/** How far before a run's queue time its events are looked for in the stream (clocks of machines differ). */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Whether stream id `a` comes before `b` (ids are "milliseconds-sequence"). */
function streamIdBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

/** How long a cancel flag stays: longer than any run waits in a queue that is being worked. */
const CANCEL_TTL_S = 7 * 24 * 3600;

/**
 * The Redis engine: runs are BullMQ jobs that `facechain worker` processes run; their events come back
 * through a Redis stream that every server reads, so each server's watchers see every run live.
 */
export class RedisEngine implements RunEngine {
  private runs = new Map<string, LiveRun>();
  private listeners = new Set<RunListener>();
  private frameListeners = new Set<FrameListener>();
  private saving = new Set<Promise<void>>();
  /** Runs an earlier server on this data folder left queued or going, read again from the stream. */
  private catchingUp = new Set<string>();
  /** BullMQ queues by name (one per model set), opened when first used. */
  private queues = new Map<string, Queue>();
  /** Which queue each run this server knows of was put in (for cancel). */
  private queueOf = new Map<string, string>();
  /** The worker each queued or going run was sent to or runs on (from the stream: every server's runs). */
  private workerOf = new Map<string, string>();
  private closed = false;
  private reading: Promise<void> = Promise.resolve();
  /** The live workers as last read (re-read every heartbeat): tells whether a run has a worker to prefer. */
  private workersSeen: WorkerInfo[] = [];
  private beating?: NodeJS.Timeout;
  /** The last stream entry read. */
  private readTo = '0';
  /** Runs this server is putting in the queue (their job may not be there yet). */
  private adding = new Set<string>();
  /** Going runs whose job was found ended or gone at the last check, with the stream's end then. */
  private endsMissing = new Map<string, string>();
  private checkingEnds = false;
  /** Asks workers for the outputs they keep; opened with the engine. */
  private fetch?: OutputFetch;

  private constructor(
    private readonly opts: RedisEngineOptions,
    private readonly redis: Redis,
    private readonly reader: Redis,
    /** Subscribed to the workers' preview frames. */
    private readonly frames: Redis,
  ) {
    frames.on('messageBuffer', (_channel: Buffer, frame: Buffer) => {
      const runId = frameRunId(frame);
      if (runId !== undefined) for (const l of this.frameListeners) l(runId, frame);
    });
  }

  /** Connects and starts reading the event stream from its end (events from now on). */
  static async open(opts: RedisEngineOptions): Promise<RedisEngine> {
    await assertReachable(opts.url);
    const redis = connect(opts.url);
    const reader = connect(opts.url);
    const engine = new RedisEngine(opts, redis, reader, connect(opts.url));
    try {
      await engine.frames.subscribe(PREVIEWS_CHANNEL);
      await engine.queueNamed(RUNS_QUEUE).waitUntilReady();
      engine.fetch = await OutputFetch.open(redis, connect(opts.url));
      engine.workersSeen = await liveWorkers(redis);
      engine.beating = setInterval(() => {
        void liveWorkers(redis).then((w) => (engine.workersSeen = w), () => undefined);
        void engine.checkEnds();
      }, HEARTBEAT_MS).unref();
      engine.reading = engine.read(await engine.catchUpFrom(), await streamEnd(redis));
    } catch (e) {
      await engine.close();
      throw e;
    }
    return engine;
  }

  async submit(graph: unknown, targets?: string[]): Promise<Accepted> {
    const checked = assertGraph(graph, this.opts.registry, { targets });
    const sweep = sweepOf(graph);
    if (sweep !== undefined) planSweep(graph, sweep, this.opts.registry);
    const models = modelsNeeded(checked);
    const workers = models.length ? await liveWorkers(this.redis) : undefined;
    this.assertSomeWorkerHas(models, workers ?? []);
    const runId = randomUUID();
    const shared = runsQueue(models);
    const worker = await this.affinity(checked, models, workers);
    const name = worker === undefined ? shared : workerQueue(worker);
    const queue = this.queueNamed(name);
    this.queueOf.set(runId, name);
    if (worker !== undefined) this.workerOf.set(runId, worker);
    // A new set: told to the workers at once, so the ones that have it listen to its queue now.
    if (models.length && (await this.redis.sadd(MODEL_SETS, JSON.stringify(models)))) await this.redis.publish(MODEL_SETS, '');
    // Where it stands among the runs this server sees queued (every server's, from the stream): told, not used.
    const position = [...this.runs.values()].filter((r) => r.state.status === 'queued').length;
    // The queued event goes first on the connection the queue shares, so no worker's run.started can come
    // before it in the stream; both are sent at once (one round trip, one AOF write for both).
    this.adding.add(runId);
    const queued = appendEvent(this.redis, { type: 'run.queued', runId, time: Date.now(), position }, { queued: { queue: name, graphName: checked.graph.name, graph, targets, worker } });
    try {
      // Once added (Redis with AOF on), the run outlives this server, a worker and Redis restarting.
      await queue.add('run', { graph, targets, queue: shared } satisfies RunJob, { jobId: runId, removeOnComplete: 1000, removeOnFail: 1000 });
    } catch (e) {
      await queued.catch(() => undefined);
      await appendEvent(this.redis, { type: 'run.failed', runId, time: Date.now(), durationMs: 0, message: 'The queue did not take the run: submit it again' });
      throw e;
    } finally {
      this.adding.delete(runId);
    }
    await queued;
    return { runId, position };
  }

  /**
   * Refuses a run that needs model files no working worker has all of, saying what each one lacks. With
   * no worker up the run waits: the one that starts may have them.
   */
  private assertSomeWorkerHas(models: string[], workers: WorkerInfo[]): void {
    if (!models.length) return;
    const lacks = workers.map((w) => ({ name: w.name, missing: models.filter((m) => !w.models.includes(m)) }));
    if (!lacks.length || lacks.some((w) => !w.missing.length)) return;
    const why = lacks.map((w) => `worker ${w.name} lacks ${w.missing.map((m) => `models/${m}`).join(', ')}`).join('; ');
    throw new HttpError(409, `No worker can run this graph: ${why}. Put the files in a worker's data folder, or pick others.`);
  }

  /**
   * Cache affinity: the worker whose cache holds the most of this run's node results (by the graph's
   * affinity keys, which workers note after each run), if it is live, has the run's models and is not
   * busy (runs going on it or sent to it fewer than its concurrency). Undefined: the shared queue, which
   * any free worker takes from, so load still spreads when the preferred worker is busy. With one worker
   * or none that could run it (as last read: a worker that came up since is preferred from the next
   * heartbeat on) there is nothing to prefer, and no lookup: a round trip less on submit.
   */
  private async affinity(checked: CheckedGraph, models: string[], known?: WorkerInfo[]): Promise<string | undefined> {
    const keys = [...affinityKeys(checked).values()];
    const able = (workers: WorkerInfo[]) => workers.filter((w) => w.seen > 0 && models.every((m) => w.models.includes(m)));
    if (!keys.length || able(known ?? this.workersSeen).length < 2) return undefined;
    // Both asked at once: one round trip.
    const [holders, workers] = await Promise.all([this.redis.mget(keys.map(heldKey)), known ?? liveWorkers(this.redis)]);
    this.workersSeen = workers;
    if (!holders.some(Boolean)) return undefined;
    const busy = runsHeld([...this.workerOf].map(([runId, worker]) => ({ worker, state: this.runs.get(runId)?.state })), workers);
    const free = able(workers).filter((w) => (busy.get(w.name) ?? 0) < w.concurrency);
    return preferredWorker(holders, new Set(free.map((w) => w.name)));
  }

  private queueNamed(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      // On the engine's own connection: its commands and the stream's appends go in order, pipelined.
      this.queues.set(name, (queue = new Queue(name, { connection: this.redis })));
      queue.on('error', (e) => void process.stderr.write(`Redis queue ${name}: ${e.message}\n`));
    }
    return queue;
  }

  async requeue(runId: string): Promise<Accepted> {
    const { graph, targets } = interruptedGraph(this.opts.history, this.runs.get(runId), runId);
    return this.submit(graph, targets);
  }

  get(runId: string): LiveRun | undefined {
    return this.runs.get(runId);
  }

  list(): LiveRun[] {
    return [...this.runs.values()].reverse();
  }

  /** A waiting run is taken off the queue here; a running one is stopped by its worker, told by a message. */
  async cancel(runId: string): Promise<boolean> {
    const run = this.runs.get(runId);
    if (!run || !isActive(run.state)) return false;
    await this.redis.set(cancelKey(runId), '1', 'EX', CANCEL_TTL_S);
    await this.redis.publish(CANCEL_CHANNEL, runId);
    // 0 when a worker holds it (the message or the flag stops it there) or it is gone already.
    if ((await this.queueNamed(this.queueOf.get(runId) ?? RUNS_QUEUE).remove(runId)) === 1) await appendEvent(this.redis, { type: 'run.cancelled', runId, time: Date.now(), durationMs: 0 });
    return true;
  }

  async outputPng(runId: string, keptBy: RunOutputs, nodeId: string, port: string, index: number): Promise<Buffer> {
    if (!this.fetch) throw new HttpError(410, `Run "${runId}" has no outputs a worker keeps`);
    return this.fetch.png(keptBy.worker, { runId, nodeId, port, index });
  }

  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeFrames(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Resolves when no run this server knows of is queued or going and its records are saved. */
  async idle(): Promise<void> {
    while ([...this.runs.values()].some((r) => isActive(r.state)) || this.saving.size) await new Promise((r) => setTimeout(r, 10));
  }

  /** Lets go of Redis; the runs stay queued in it for the workers and the other servers. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.beating);
    this.fetch?.close();
    this.reader.disconnect();
    this.frames.disconnect();
    await this.reading;
    await Promise.all(this.saving);
    for (const queue of this.queues.values()) await queue.close();
    await this.redis.quit().catch(() => undefined);
  }

  /**
   * Runs an earlier server on this data folder saved as queued or going may still be queued or going in
   * Redis: their events are read again from the stream, from a little before the oldest was queued (the
   * stream's ids are Redis's clock, the run's times this server's). Answers the position to read from.
   */
  private async catchUpFrom(): Promise<string> {
    const stopped = this.opts.history.activeAtStop();
    for (const run of stopped) this.catchingUp.add(run.summary.runId);
    const oldest = Math.min(...stopped.map((run) => run.summary.queuedAt ?? run.events[0]?.time ?? 0));
    return Number.isFinite(oldest) ? `${Math.max(0, oldest - CLOCK_SKEW_MS)}-0` : await streamEnd(this.redis);
  }

  /** Reads the stream after `from`; entries up to `caughtUp` (read before) only for the runs caught up on. */
  private async read(from: string, caughtUp: string): Promise<void> {
    let position = from;
    while (!this.closed) {
      try {
        const { last, entries } = await readEvents(this.reader, position);
        position = last;
        for (const entry of entries) if (!streamIdBefore(caughtUp, entry.id) ? this.catchingUp.has(entry.event.runId) : true) this.take(entry);
        this.readTo = last;
      } catch (e) {
        if (!this.closed) process.stderr.write(`Redis event stream: ${(e as Error).message}\n`);
      }
    }
  }

  private take({ id, event, queued, worker, outputs }: StreamEntry): void {
    const { runId } = event;
    let run = this.runs.get(runId);
    // A run's first end in the stream is its end on every server (all read it in the same order): what
    // comes after (a worker's end arriving after a server ended the run for it) is dropped.
    if (run && !isActive(run.state)) return;
    if (!run) {
      // A run caught up on with its run.queued entry trimmed from the stream: what its record says.
      const stored = queued ? undefined : this.opts.history.read(runId);
      if (stored && !isActive(stored.summary) && !stored.summary.interrupted) return;
      run = { state: newRun(runId), graphName: queued?.graphName ?? stored?.summary.graphName ?? 'graph', graph: queued?.graph ?? stored?.graph, targets: queued?.targets ?? stored?.targets, events: [] };
      this.runs.set(runId, run);
    }
    if (queued) this.queueOf.set(runId, queued.queue);
    if (queued?.worker) this.workerOf.set(runId, queued.worker);
    if (event.type === 'log' && event.message.startsWith(WORKER_LOG)) this.workerOf.set(runId, event.message.slice(WORKER_LOG.length));
    run.state = reduceRun(run.state, event);
    if (outputs) run.keptBy = outputs;
    if (!isActive(run.state)) this.workerOf.delete(runId);
    if (event.type !== 'node.progress') run.events.push(event);
    if (event.type === 'run.queued' || !isActive(run.state)) this.save(run);
    for (const l of this.listeners) l(event);
    // The run's first log line, the same on every server.
    if (event.type === 'run.started' && worker !== undefined) this.take({ id, event: { type: 'log', runId, time: event.time, level: 'info', message: `${WORKER_LOG}${worker}` } });
  }

  /**
   * Ends the runs whose worker's end never reached the stream (its append failed, Redis lost it, the
   * worker died in between): a run still going here whose job was found completed, failed or gone at two
   * checks a heartbeat apart, with the stream read past where it ended at the first. A worker appends a
   * run's end before BullMQ completes its job, so by then it would have been read; one that comes later
   * anyway (a worker's failed-job end) is dropped by `take`. A stalled job put back to wait is not ended.
   */
  private async checkEnds(): Promise<void> {
    if (this.checkingEnds) return;
    this.checkingEnds = true;
    try {
      const going = [...this.runs.values()].filter((r) => isActive(r.state) && this.queueOf.has(r.state.runId) && !this.adding.has(r.state.runId));
      const jobs = await Promise.all(going.map((r) => jobEnd(this.queueNamed(this.queueOf.get(r.state.runId)!), r.state.runId)));
      // Read after the jobs' states: an end appended before its job ended comes before this.
      const streamNow = await streamEnd(this.redis);
      const missing = new Map<string, string>();
      for (const [i, run] of going.entries()) {
        const job = jobs[i];
        const { runId } = run.state;
        if (!job) continue;
        const since = this.endsMissing.get(runId);
        missing.set(runId, since ?? streamNow);
        if (since === undefined || streamIdBefore(this.readTo, since) || !isActive(run.state)) continue;
        // Together: when two servers end the same run, the first end in the stream wins and the other
        // server's log line, coming after it, is dropped with its end (one log line, not two).
        void appendEvents(this.redis, lostEndEvents(run.state, job, Date.now())).catch(() => undefined);
      }
      this.endsMissing = missing;
    } catch (e) {
      if (!this.closed) process.stderr.write(`Redis engine, checking runs' jobs: ${(e as Error).message}\n`);
    } finally {
      this.checkingEnds = false;
    }
  }

  private save(run: LiveRun): void {
    const saved = this.opts.history
      .save(runSummary(run.state, run.graphName, run.events), run.events, run.graph, run.targets, run.keptBy)
      .catch((e: Error) => void process.stderr.write(`Run ${run.state.runId} could not be saved to the history: ${e.message}\n`))
      .finally(() => {
        this.saving.delete(saved);
        this.trim();
      });
    this.saving.add(saved);
  }

  private trim(): void {
    const limit = this.opts.historyLimit ?? 100;
    for (const [id, r] of this.runs) {
      if (this.runs.size <= limit) break;
      if (!isActive(r.state)) {
        this.runs.delete(id);
        this.queueOf.delete(id);
      }
    }
  }
}

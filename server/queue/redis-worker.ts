import { freemem, hostname } from 'node:os';
import { z } from 'zod';
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PreviewImage, RunEvent } from '../../protocol/index.ts';
import type { DataFolders } from '../../runtime/data-folder.ts';
import type { Executor } from '../../runtime/executor.ts';
import type { NodeRegistry } from '../../runtime/registry.ts';
import { runSweep } from '../../runtime/sweep/driver.ts';
import { sweepOf } from '../../runtime/sweep/plan.ts';
import { jsonOrUndefined } from '../../runtime/json-depth.ts';
import { modelsPresent } from '../../runtime/models-needed.ts';
import { checkGraph, type CheckResult } from '../../runtime/validate.ts';
import { affinityKeys, HELD_TTL_S, heldKey } from './affinity.ts';
import {
  appendEvent, assertReachable, type EntryExtras, CANCEL_CHANNEL, publishPreview, cancelKey, connect, connectionOptions, HEARTBEAT_MS, liveWorkers, MODEL_SETS, RUNS_QUEUE, runsQueue, WORKERS, workerQueue, type WorkerInfo,
} from './redis-stream.ts';
import { type RunOutputs, WorkerOutputs, outputsChannel } from './worker-outputs.ts';

/** The log line that starts a run's log on a worker, before the worker's name. */
export const WORKER_LOG = 'Run by worker ';

/** How a run whose job BullMQ failed ends (said the same by the worker and by a server that sees its end lost). */
export const givenUp = (reason: string) => `The run was given up (${reason}): run its graph again`;

/** What a job of the runs queue holds: the graph as a client sent it (untrusted: validated again here). */
export interface RunJob {
  graph: unknown;
  targets?: string[];
  /** The shared queue of its model set, where a run sent to one worker's queue goes if that worker leaves. */
  queue?: string;
}

export interface RedisWorkerOptions {
  url: string;
  executor: Executor;
  registry: NodeRegistry;
  data: DataFolders;
  /** Runs executed at the same time by this worker. */
  concurrency?: number;
  /** Ended runs whose outputs it keeps for servers to ask for (default KEPT_OUTPUT_RUNS; 0: none). */
  keptOutputRuns?: number;
  /** Names this worker in logs and events (default: host and pid). */
  name?: string;
  /**
   * How long a run's lock lasts without this worker renewing it (it renews at half of it): a killed
   * worker's run goes to another worker after about this long. Default BullMQ's 30 s.
   */
  lockMs?: number;
}

export interface RunningWorker {
  name: string;
  /** Stops taking runs and waits for the ones going to end. */
  close(): Promise<void>;
}

/**
 * A worker process's side of the Redis engine: takes runs from BullMQ, runs them with the executor (which
 * validates the graph again: the queue is the only thing a worker trusts, and not for the graph), and
 * appends every event to the stream every server reads; previews' bytes are published beside it.
 */
export async function startRedisWorker(opts: RedisWorkerOptions): Promise<RunningWorker> {
  const name = opts.name ?? `${hostname()}:${process.pid}`;
  const concurrency = opts.concurrency ?? 1;
  await assertReachable(opts.url);
  const writer = connect(opts.url);
  const subscriber = connect(opts.url);
  const going = new Map<string, AbortController>();
  const kept = new WorkerOutputs(opts.keptOutputRuns);
  const asked = outputsChannel(name);
  const cancelled = new CancelledRuns();
  await subscriber.subscribe(CANCEL_CHANNEL, MODEL_SETS, asked);
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === CANCEL_CHANNEL) {
      cancelled.add(message);
      going.get(message)?.abort();
    }
    else if (channel === asked) kept.answer(writer, message).catch((e: Error) => void process.stderr.write(`Worker ${name}, answering for an output: ${e.message}\n`));
    else beatNow();
  });

  // One BullMQ worker per queue this machine's models allow (and its own queue, and those of workers that
  // left); together they run `concurrency` runs at most. When full, the ones with room are paused; the
  // one(s) running `concurrency` runs are not (BullMQ's own limit holds them, and they fetch the next run
  // as they end one, with no pause and resume between runs).
  const workers = new Map<string, Worker<RunJob>>();
  const activeIn = new Map<string, number>();
  const gate = () => {
    const full = going.size >= concurrency;
    for (const [queue, w] of workers) {
      const hold = full && (activeIn.get(queue) ?? 0) < concurrency;
      if (hold && !w.isPaused()) void w.pause(true);
      else if (!hold && w.isPaused()) void w.resume();
    }
  };
  const processIn = (queue: string) => async (job: Job<RunJob>, token?: string) => {
    // A paused worker's fetch that was already waiting can still bring a run: it goes back for another.
    if (going.size >= concurrency && token) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    activeIn.set(queue, (activeIn.get(queue) ?? 0) + 1);
    const run = runJob(job, { name, opts, writer, going, kept, cancelled });
    gate();
    try {
      // The job's result: a server that never sees the run's end in the stream ends the run with it.
      return await run;
    } finally {
      activeIn.set(queue, activeIn.get(queue)! - 1);
      gate();
    }
  };
  const listen = async (queue: string) => {
    if (workers.has(queue)) return;
    const worker = new Worker<RunJob>(queue, processIn(queue), {
      connection: connectionOptions(opts.url),
      concurrency,
      // A worker that stops renewing its lock (killed, frozen) has its run given to another worker, once.
      maxStalledCount: 1,
      ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
    });
    worker.on('error', (e) => void process.stderr.write(`Worker ${name}: ${e.message}\n`));
    // Runs never throw to BullMQ (failures are events): a failed job is one found stalled a second time
    // (its workers died twice), or one whose events could not be stored.
    worker.on('failed', (job, e) => {
      if (job?.id) void appendEvent(writer, { type: 'run.failed', runId: job.id, time: Date.now(), durationMs: 0, message: givenUp(e.message) });
    });
    workers.set(queue, worker);
    await worker.waitUntilReady();
    gate();
  };
  /** Says what this worker has, and listens to the queues of the model sets it has every file of. */
  const beat = async () => {
    const models = modelsPresent(opts.data.models);
    const info: WorkerInfo = { name, seen: Date.now(), models, freeMemoryBytes: freemem(), concurrency, running: [...going.keys()] };
    await writer.hset(WORKERS, name, JSON.stringify(info));
    // Workers killed long ago (a restarted one has a new name) leave the list.
    const live = new Set((await liveWorkers(writer)).map((w) => w.name));
    const gone = (await writer.hkeys(WORKERS)).filter((w) => !live.has(w));
    // Let go before taking new ones: a queue is let go a beat after it was taken at the earliest, so a run
    // that a server sent to a worker it still saw live has arrived by then.
    await releaseEmpty();
    // Their own queues' runs (waiting, or going when they died) are taken over by this worker.
    for (const w of gone) {
      if (!workers.has(workerQueue(w))) takenOver.add(workerQueue(w));
      await listen(workerQueue(w));
    }
    if (gone.length) await writer.hdel(WORKERS, ...gone);
    for (const json of await writer.smembers(MODEL_SETS)) {
      const set = z.array(z.string()).safeParse(jsonOrUndefined(json));
      if (set.success && set.data.every((m) => models.includes(m))) await listen(runsQueue(set.data));
    }
  };
  /** Queues of workers that left, listened to until they hold no run (a going one found stalled is run first). */
  const takenOver = new Set<string>();
  const releaseEmpty = async () => {
    for (const queue of takenOver) {
      const counter = new Queue(queue, { connection: writer });
      const counts = await counter.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
      await counter.close();
      if (Object.values(counts).some((n) => n > 0)) continue;
      takenOver.delete(queue);
      const worker = workers.get(queue);
      workers.delete(queue);
      activeIn.delete(queue);
      await worker?.close();
    }
  };
  let beating = Promise.resolve();
  const beatNow = () => {
    beating = beating.then(beat).catch((e: Error) => void process.stderr.write(`Worker ${name}: ${e.message}\n`));
  };
  // Cancels from before this worker listened (once heard, every later one comes on the channel).
  for await (const keys of writer.scanStream({ match: cancelKey('*'), count: 1000 }) as AsyncIterable<string[]>) for (const key of keys) cancelled.add(key.slice(cancelKey('').length));
  await listen(RUNS_QUEUE);
  await listen(workerQueue(name));
  await beat();
  const timer = setInterval(beatNow, HEARTBEAT_MS);
  return {
    name,
    close: async () => {
      clearInterval(timer);
      await beating;
      await Promise.all([...workers.values()].map((w) => w.close()));
      // Listed as gone rather than removed: the next beat of another worker takes over its queue's runs.
      await writer.hset(WORKERS, name, JSON.stringify({ name, seen: 0, models: [], freeMemoryBytes: 0, concurrency } satisfies WorkerInfo));
      await subscriber.quit();
      await writer.quit();
    },
  };
}

/** Runs cancelled that a worker may still be given (the newest CANCELS_HELD), known without asking Redis. */
class CancelledRuns {
  private ids = new Set<string>();

  add(runId: string): void {
    this.ids.add(runId);
    if (this.ids.size > CANCELS_HELD) this.ids.delete(this.ids.values().next().value!);
  }

  has(runId: string): boolean {
    return this.ids.has(runId);
  }
}
/**
 * A run cancelled while queued is taken off its queue by the server; only one cancelled while a worker
 * that died held it comes to another worker, soon after: far fewer than this are ever needed.
 */
const CANCELS_HELD = 10_000;

/** What a worker's runs share: its name, options, Redis connection, going runs, kept outputs and the cancels heard. */
interface WorkerState {
  name: string;
  opts: RedisWorkerOptions;
  writer: Redis;
  going: Map<string, AbortController>;
  kept: WorkerOutputs;
  cancelled: CancelledRuns;
}

/** Runs the job's graph; resolves with the run's end once every event is stored. */
async function runJob(job: Job<RunJob>, { name, opts, writer, going, kept, cancelled }: WorkerState): Promise<RunEvent | undefined> {
  const runId = job.id!;
  const controller = new AbortController();
  going.set(runId, controller);
  // Each append is sent in order on the writer's connection; the job ends once the last one is stored.
  let last: Promise<unknown> = Promise.resolve();
  /** The run's end as sent: the job's result. */
  let end: RunEvent | undefined;
  const send = (event: RunEvent, extras?: EntryExtras) => {
    if (event.type === 'run.finished' || event.type === 'run.failed' || event.type === 'run.cancelled') end = event;
    last = appendEvent(writer, event, extras);
  };
  /** Node results this run left in the worker's cache (run or taken from it). */
  const held = new Set<string>();
  let ending: RunEvent | undefined;
  /** Its outputs, kept by this worker for any server to ask for: told with its end. */
  let outputs: RunOutputs | undefined;
  const onEvent = (event: RunEvent, preview?: PreviewImage) => {
    if (event.type === 'node.finished' || event.type === 'node.cached') held.add(event.nodeId);
    // The run's end is told once its outputs are kept and its cache noted (below).
    if (event.type === 'run.finished' || event.type === 'run.failed') {
      ending = event;
      return;
    }
    // Which worker ran it (also the one whose cache and logs to look at): servers log it.
    send(event, { worker: event.type === 'run.started' ? name : undefined });
    if (preview && event.type === 'node.preview') publishPreview(writer, event, preview).catch((e: Error) => void process.stderr.write(`Worker ${name}, publishing a preview: ${e.message}\n`));
  };
  try {
    const { graph, targets } = job.data;
    // Cancelled while the worker that had it was dying (a run cancelled while it waited is off the queue).
    const check = checkGraph(graph, opts.registry, { targets });
    if (cancelled.has(runId)) {
      onEvent({ type: 'run.cancelled', runId, time: Date.now(), durationMs: 0 });
      return end;
    }
    if (job.attemptsStarted > 1 || job.stalledCounter > 0) {
      onEvent({ type: 'log', runId, time: Date.now(), level: 'warn', message: `Run again from the start on worker ${name}: the worker running it stopped` });
    }
    const options = { runId, targets, signal: controller.signal, onEvent };
    const sweep = sweepOf(graph);
    if (sweep === undefined) {
      const result = await opts.executor.execute(check, options);
      if (ending) outputs = { worker: name, images: kept.keep(runId, result.outputs) };
    } else await runSweep(graph, sweep, { ...options, executor: opts.executor, registry: opts.registry, data: opts.data });
    // Sent before the end event on the same connection, not awaited: stored before any client sees the end.
    if (ending) last = noteHeld(writer, name, opts, check, held).catch((e: Error) => void process.stderr.write(`Worker ${name}: ${e.message}\n`));
  } catch (e) {
    // The executor reports a run's failures as events; reaching here is a bug, still reported to watchers.
    ending = { type: 'run.failed', runId, time: Date.now(), message: (e as Error).message, durationMs: 0 };
  } finally {
    going.delete(runId);
    if (ending) send(ending, { outputs });
    await last;
  }
  return end;
}

/** Notes in Redis that this worker's cache holds these nodes' results, for servers to send it runs that need them. */
async function noteHeld(writer: Redis, name: string, opts: RedisWorkerOptions, check: CheckResult, held: Set<string>): Promise<void> {
  if (!held.size || opts.executor.cache.maxBytes === 0 || !check.ok) return;
  const notes = writer.multi();
  for (const [nodeId, key] of affinityKeys(check.checked)) if (held.has(nodeId)) notes.set(heldKey(key), name, 'EX', HELD_TTL_S);
  await notes.exec();
}

import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { jsonOrUndefined } from '../../runtime/json-depth.ts';
import { at, decodePreviewFrame, type PreviewHeader, previewFrameOf, RunEventSchema, type PreviewImage, type RunEvent } from '../../protocol/index.ts';
import { type RunOutputs, RunOutputsSchema } from './worker-outputs.ts';

/** BullMQ's queue of runs that need no model file: one job per run, its id the run id. */
export const RUNS_QUEUE = 'facechain-runs';
/**
 * Runs that need model files go to a queue of their own per set of files, which only workers that have
 * them all take from (a worker lacking a checkpoint never sees the run).
 */
export function runsQueue(models: string[]): string {
  return models.length ? `${RUNS_QUEUE}-${createHash('sha256').update(models.join('\n')).digest('hex').slice(0, 16)}` : RUNS_QUEUE;
}
/**
 * A worker's own queue: runs a server sent to it for its cache (see affinity.ts), whatever models they
 * need (the server picks only a worker that has them). A worker that goes away leaves its queue's runs
 * to the others: they listen to its queue too until it holds no run.
 */
export function workerQueue(name: string): string {
  return `${RUNS_QUEUE}@${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}
/** The model sets runs were queued with (JSON arrays), so workers know which queues to look at. */
export const MODEL_SETS = 'facechain:model-sets';
/** What each worker has, by name, refreshed every HEARTBEAT_MS; one not refreshed for 3 beats is gone. */
export const WORKERS = 'facechain:workers';
export const HEARTBEAT_MS = 5000;

export const WorkerInfoSchema = z.object({
  name: z.string(),
  /** When it last said so (ms, its clock). */
  seen: z.number(),
  /** The model-store files it has, as kind/file. */
  models: z.array(z.string()),
  freeMemoryBytes: z.number(),
  concurrency: z.number(),
  /** The runs it was executing when it said so. */
  running: z.array(z.string()).optional(),
});
export type WorkerInfo = z.infer<typeof WorkerInfoSchema>;

/** The workers that said what they have in the last 3 heartbeats. */
export async function liveWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const found: WorkerInfo[] = [];
  for (const json of Object.values(await redis.hgetall(WORKERS))) {
    const info = WorkerInfoSchema.safeParse(jsonOrUndefined(json));
    if (info.success && Date.now() - info.data.seen < 3 * HEARTBEAT_MS) found.push(info.data);
  }
  return found;
}
/** Every run's events in order, written by servers and workers, read by every server. */
export const EVENTS_STREAM = 'facechain:events';
/**
 * Preview frames (protocol/preview-frame.ts), published by workers to every server listening: live only,
 * so their bytes are neither kept in Redis's memory with the stream nor written to its AOF. A server
 * away meanwhile misses them, as a slow WebSocket client does; `node.preview` events go in the stream.
 */
export const PREVIEWS_CHANNEL = 'facechain:previews';
/** Cancels: a flag key (seen by a worker taking the run up later) and a message (to the worker running it). */
export const CANCEL_CHANNEL = 'facechain:cancel';
export const cancelKey = (runId: string) => `facechain:cancelled:${runId}`;
/** The stream keeps about this many entries; a server further behind than that reads from the oldest kept. */
const STREAM_LENGTH = 100_000;

/**
 * A connection to the queue's Redis: any URL ioredis takes (redis://:password@host:port/db, rediss:// for
 * TLS). BullMQ's blocking commands need requests that never give up while Redis is away.
 */
export function connectionOptions(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
}

export function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  // While Redis is away ioredis reconnects and keeps the commands; the same error is said once.
  let said = '';
  redis.on('error', (e: Error) => {
    if (e.message !== said) process.stderr.write(`Redis: ${(said = e.message)}\n`);
  });
  redis.on('ready', () => (said = ''));
  return redis;
}

/**
 * Fails at once when Redis cannot be reached or refuses the password, so a server or worker started
 * with a wrong URL says so instead of waiting (later outages are waited out: connections reconnect).
 */
export async function assertReachable(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The socket's error says more than the rejected connect ("Connection is closed").
  let cause: Error | undefined;
  probe.on('error', (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new Error(`Redis cannot be reached at the --redis URL: ${(cause ?? (e as Error)).message}`);
  } finally {
    probe.disconnect();
  }
}

/** What a run.queued entry carries beside its event, so any server can list a run another one accepted. */
const QueuedMetaSchema = z.object({
  /** The BullMQ queue it is in (see runsQueue). */
  queue: z.string(),
  graphName: z.string(),
  graph: z.unknown(),
  targets: z.array(z.string()).optional(),
  /** The worker it was sent to for its cache (its queue is workerQueue(worker)), if any. */
  worker: z.string().optional(),
});
export type QueuedMeta = z.infer<typeof QueuedMetaSchema>;

/**
 * What an entry carries beside its event: a queued run's graph, the worker that started a run (each
 * server logs it: an entry less than a log event of its own), an ended run's outputs.
 */
export interface EntryExtras {
  queued?: QueuedMeta;
  worker?: string;
  outputs?: RunOutputs;
}

export interface StreamEntry extends EntryExtras {
  id: string;
  event: RunEvent;
}

/** An event's stream entry: its fields, and the arguments of the XADD that appends it. */
function entry(event: RunEvent, { queued, worker, outputs }: EntryExtras = {}): [string, ...string[]] {
  const fields: string[] = ['e', JSON.stringify(event)];
  if (queued) fields.push('q', JSON.stringify(queued));
  if (worker !== undefined) fields.push('w', worker);
  if (outputs) fields.push('o', JSON.stringify(outputs));
  return [EVENTS_STREAM, 'MAXLEN', '~', String(STREAM_LENGTH), '*', ...fields];
}

/** Appends one event; ioredis sends a connection's commands in order, so one writer's events stay in order. */
export function appendEvent(redis: Redis, event: RunEvent, extras?: EntryExtras): Promise<unknown> {
  return redis.xadd(...entry(event, extras));
}

/** Appends events next to each other (MULTI): no other writer's entry comes between them. */
export function appendEvents(redis: Redis, events: RunEvent[]): Promise<unknown> {
  const tx = redis.multi();
  for (const event of events) tx.xadd(...entry(event));
  return tx.exec();
}

/** Sends a `node.preview` event's frame to the servers listening now. */
export function publishPreview(redis: Redis, event: PreviewHeader, preview: PreviewImage): Promise<unknown> {
  return redis.publish(PREVIEWS_CHANNEL, Buffer.from(previewFrameOf(event, preview.data)));
}

/** The run a published frame belongs to; undefined (reported) for bytes that are not a frame. */
export function frameRunId(frame: Uint8Array): string | undefined {
  try {
    return decodePreviewFrame(frame).header.runId;
  } catch (e) {
    process.stderr.write(`Redis preview message is not a preview frame, skipped: ${(e as Error).message}\n`);
    return undefined;
  }
}

/** The id of the newest entry ('0' for an empty stream): reading after it gets what is appended from now on. */
export async function streamEnd(redis: Redis): Promise<string> {
  const [last] = await redis.xrevrange(EVENTS_STREAM, '+', '-', 'COUNT', 1);
  return last?.[0] ?? '0';
}

/**
 * Waits for entries after `after` (blocking on a connection of its own). Entries that are not a valid
 * event are reported and skipped: whatever can write to Redis is trusted no further than that.
 */
export async function readEvents(redis: Redis, after: string): Promise<{ last: string; entries: StreamEntry[] }> {
  const answer = await redis.xreadBuffer('COUNT', 500, 'BLOCK', 0, 'STREAMS', EVENTS_STREAM, after);
  const entries: StreamEntry[] = [];
  let last = after;
  for (const [, items] of answer ?? []) {
    for (const [rawId, flat] of items) {
      last = rawId.toString();
      const fields = new Map<string, Buffer>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(at(flat, i).toString(), at(flat, i + 1));
      try {
        const event = RunEventSchema.parse(JSON.parse(fields.get('e')?.toString() ?? ''));
        const q = fields.get('q');
        const o = fields.get('o');
        const w = fields.get('w');
        entries.push({
          id: last,
          event,
          queued: q ? QueuedMetaSchema.parse(JSON.parse(q.toString())) : undefined,
          worker: w?.toString(),
          outputs: o ? RunOutputsSchema.parse(JSON.parse(o.toString())) : undefined,
        });
      } catch (e) {
        process.stderr.write(`Redis stream entry ${last} is not a run event, skipped: ${(e as Error).message}\n`);
      }
    }
  }
  return { last, entries };
}

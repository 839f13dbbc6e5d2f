import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { HttpError } from './http-error.ts';
import { RunEventSchema, type RunEvent, isActive, newRun, reduceRun, type RunView, newestFirst, runSummary, RunSummarySchema, type RunSummary } from '../protocol/index.ts';
import { readInsideSync, writeInside } from '../runtime/safe-open.ts';
import { type RunOutputs, RunOutputsSchema } from './queue/worker-outputs.ts';

/** Ended runs kept on disk; saving one more deletes the oldest. */
export const RUN_HISTORY_LIMIT = 500;

const RUN_FORMAT = 'facechain-run';
/**
 * What `data/runs/<runId>.json` holds: the summary for listing, every event but progress ticks, and the
 * graph document that ran (so a past run can be opened again).
 */
const StoredRunSchema = z.object({
  format: z.literal(RUN_FORMAT),
  version: z.literal(1),
  summary: RunSummarySchema,
  events: z.array(RunEventSchema),
  graph: z.unknown().optional(),
  /** The nodes the run was asked for (absent: the whole graph), so a queued run can be run again as asked. */
  targets: z.array(z.string()).optional(),
  /** A run a worker executed: which worker keeps its outputs, and how many images (a restarted server still asks it). */
  outputs: RunOutputsSchema.optional(),
});
export type StoredRun = z.infer<typeof StoredRunSchema>;
/** Startup reads only this much of each record: the events are validated when a run is opened. */
const StoredHeadSchema = StoredRunSchema.pick({ format: true, version: true, summary: true });

/** The view of a stored run, folded from its events as the live one was. */
export function storedView(run: StoredRun): RunView {
  return run.events.reduce(reduceRun, newRun(run.summary.runId));
}

/**
 * A record saved while its run was queued or going, by a process that then stopped (a crash, a kill): the
 * run is shown as failed at its last event, with everything logged up to then, and `interrupted` says
 * whether it had run at all (a run that never started can simply be queued again).
 */
export function interrupted(run: StoredRun): StoredRun {
  const time = Math.max(...run.events.map((e) => e.time));
  const started = run.summary.startedAt ?? run.summary.queuedAt ?? time;
  const { runId, graphName } = run.summary;
  const wasQueued = !run.events.some((e) => e.type === 'run.started');
  const message = wasQueued
    ? 'Interrupted: the server stopped before this run started; queue it again'
    : 'The server stopped before this run ended: its log goes up to then';
  const events: RunEvent[] = [...run.events, { type: 'run.failed', runId, time, durationMs: time - started, message }];
  const summary = { ...runSummary(storedView({ ...run, events }), graphName, events), interrupted: wasQueued ? ('queued' as const) : ('running' as const) };
  return { ...run, events, summary };
}

interface PendingSave {
  record: StoredRun;
  written: Promise<void>;
  settle(e?: Error): void;
}

/** Ended runs as JSON files in one folder (the data folder's runs/), so history outlives the process. */
export class RunHistory {
  /** Summaries of the runs on disk, oldest first; events are read from the file when a run is opened. */
  private index = new Map<string, RunSummary>();
  /** Runs an earlier process saved while they were going and never finished (see `interrupted`). */
  private stopped = new Set<string>();
  /**
   * Saves waiting to be written, oldest first, one per run: a run saved again before its write began
   * is written once with the newest state (a short run's start and end records become one write).
   */
  private pending = new Map<string, PendingSave>();
  private writing = false;

  constructor(
    private readonly dir: string,
    private readonly limit = RUN_HISTORY_LIMIT,
  ) {
    const found: RunSummary[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(dir, name);
      try {
        const json: unknown = JSON.parse(readInsideSync(dir, name).toString('utf8'));
        let { summary } = StoredHeadSchema.parse(json);
        if (name !== `${summary.runId}.json`) {
          process.stderr.write(`Run history: ${file} holds run ${summary.runId}, not listed\n`);
          continue;
        }
        if (isActive(summary)) {
          summary = interrupted(StoredRunSchema.parse(json)).summary;
          this.stopped.add(summary.runId);
        }
        found.push(summary);
      } catch (e) {
        // Left in place for a person to look at; it is not listed.
        process.stderr.write(`Run history: ${file} is not a readable run record, not listed: ${(e as Error).message}\n`);
      }
    }
    for (const summary of found.sort(newestFirst).reverse()) this.index.set(summary.runId, summary);
    this.trim();
  }

  /**
   * Writes a run's record (whole or not at all), then drops the oldest beyond the limit. Writes happen one
   * after another; the index keeps the order runs were first saved in. Going runs are saved now and then too,
   * so a crash keeps their log. Resolves once a record at least this new is on disk.
   */
  save(summary: RunSummary, events: RunEvent[], graph: unknown, targets?: string[], outputs?: RunOutputs): Promise<void> {
    // The events as they are now: the caller goes on appending to its array.
    const record: StoredRun = { format: RUN_FORMAT, version: 1, summary, events: [...events], graph, targets, outputs };
    let save = this.pending.get(summary.runId);
    if (save) save.record = record;
    else {
      let settle!: PendingSave['settle'];
      const written = new Promise<void>((resolve, reject) => (settle = (e) => (e ? reject(e) : resolve())));
      this.pending.set(summary.runId, (save = { record, written, settle }));
    }
    if (!this.writing) {
      this.writing = true;
      // After the caller's own work (sending the event on): the write's checks run on this thread.
      queueMicrotask(() => void this.writeAll());
    }
    return save.written;
  }

  private async writeAll(): Promise<void> {
    for (let next = this.pending.entries().next(); !next.done; next = this.pending.entries().next()) {
      const [runId, save] = next.value;
      this.pending.delete(runId);
      try {
        await writeInside(this.dir, `${runId}.json`, JSON.stringify(save.record));
        // A run keeps its place (first saved: queued order), so runs that tie on time list in that order.
        this.index.set(runId, save.record.summary);
        // Saved by this process: no longer a record an earlier one left behind.
        this.stopped.delete(runId);
        this.trim();
        save.settle();
      } catch (e) {
        save.settle(e as Error);
      }
    }
    this.writing = false;
  }

  summaries(): RunSummary[] {
    // Ties (the same milliseconds) stay in save order, newest first.
    return [...this.index.values()].reverse().sort(newestFirst);
  }

  read(runId: string): StoredRun | undefined {
    // Only listed ids reach the file system: a run id from a URL never becomes a path on its own.
    if (!this.index.has(runId)) return undefined;
    const file = this.file(runId);
    try {
      const run = StoredRunSchema.parse(JSON.parse(readInsideSync(this.dir, `${runId}.json`).toString('utf8')));
      return this.stopped.has(runId) ? interrupted(run) : run;
    } catch (e) {
      // The details (file, zod's list) go to the server's log, not to a client.
      process.stderr.write(`Run history: ${file} cannot be read: ${(e as Error).message}\n`);
      throw new HttpError(500, `The saved record of run "${runId}" cannot be read (it was removed or damaged; the server log says why)`);
    }
  }

  /**
   * Runs an earlier process accepted and never started, oldest first, as it saved them (not marked
   * interrupted): the queue takes them up again. Unreadable ones stay listed as interrupted.
   */
  queuedAtStop(): StoredRun[] {
    return this.activeAtStop().filter((run) => !run.events.some((e) => e.type === 'run.started'));
  }

  /**
   * Runs an earlier process saved while they were queued or going, oldest first, as it saved them: with
   * the Redis engine they may still be queued or going on a worker.
   */
  activeAtStop(): StoredRun[] {
    const found: StoredRun[] = [];
    for (const runId of this.stopped) {
      try {
        found.push(StoredRunSchema.parse(JSON.parse(readInsideSync(this.dir, `${runId}.json`).toString('utf8'))));
      } catch (e) {
        process.stderr.write(`Run history: ${this.file(runId)} cannot be read: ${(e as Error).message}\n`);
      }
    }
    return found.sort((a, b) => (a.summary.queuedAt ?? 0) - (b.summary.queuedAt ?? 0));
  }

  private file(runId: string): string {
    return path.join(this.dir, `${runId}.json`);
  }

  private trim(): void {
    while (this.index.size > this.limit) {
      // The last that summaries() lists, found without sorting them all at every save.
      let oldest: RunSummary | undefined;
      for (const s of this.index.values()) if (!oldest || newestFirst(s, oldest) > 0) oldest = s;
      this.index.delete(oldest!.runId);
      rmSync(this.file(oldest!.runId), { force: true });
    }
  }
}

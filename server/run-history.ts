import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../models/store/atomic.ts';
import { ProblemSchema, RunEventSchema, type RunEvent } from '../runtime/events.ts';
import { logLineOf, newRun, reduceRun, type LogLine, type RunView } from '../runtime/run-state.ts';

/** Ended runs kept on disk; saving one more deletes the oldest. */
export const RUN_HISTORY_LIMIT = 500;

export const RunSummarySchema = z.object({
  runId: z.string(),
  graphName: z.string(),
  status: z.enum(['starting', 'queued', 'running', 'finished', 'failed', 'cancelled']),
  queuedAt: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  error: z.string().optional(),
  problems: z.array(ProblemSchema).optional(),
  logCount: z.number().describe('lines in the whole log (log events and node errors)'),
  lastError: z.object({ nodeId: z.string().optional(), message: z.string() }).optional().describe('the last error line of the log'),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

const RUN_FORMAT = 'facechain-run';
/** What `data/runs/<runId>.json` holds: the summary for listing, and every event but progress ticks. */
const StoredRunSchema = z.object({
  format: z.literal(RUN_FORMAT),
  version: z.literal(1),
  summary: RunSummarySchema,
  events: z.array(RunEventSchema),
});
export type StoredRun = z.infer<typeof StoredRunSchema>;
/** Startup reads only this much of each record: the events are validated when a run is opened. */
const StoredHeadSchema = StoredRunSchema.pick({ format: true, version: true, summary: true });

export function fullLog(events: RunEvent[]): LogLine[] {
  return events.flatMap((e) => logLineOf(e) ?? []);
}

export function runSummary(state: RunView, graphName: string, events: RunEvent[]): RunSummary {
  const { runId, status, queuedAt, startedAt, finishedAt, durationMs, error, problems } = state;
  const log = fullLog(events);
  const lastError = log.findLast((l) => l.level === 'error');
  return {
    runId,
    graphName,
    status,
    queuedAt,
    startedAt,
    finishedAt,
    durationMs,
    error,
    problems,
    logCount: log.length,
    lastError: lastError && { nodeId: lastError.nodeId, message: lastError.message },
  };
}

/** The view of a stored run, folded from its events as the live one was. */
export function storedView(run: StoredRun): RunView {
  return run.events.reduce(reduceRun, newRun(run.summary.runId));
}

const end = (r: RunSummary) => r.finishedAt ?? Number.MAX_SAFE_INTEGER;
/** Newest queued first; runs queued in the same millisecond by end, one still going first. */
export const newestFirst = (a: RunSummary, b: RunSummary) => (b.queuedAt ?? 0) - (a.queuedAt ?? 0) || end(b) - end(a);

/** Ended runs as JSON files in one folder (the data folder's runs/), so history outlives the process. */
export class RunHistory {
  /** Summaries of the runs on disk, oldest first; events are read from the file when a run is opened. */
  private index = new Map<string, RunSummary>();
  private lastSave = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly limit = RUN_HISTORY_LIMIT,
  ) {
    const found: RunSummary[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(dir, name);
      try {
        const { summary } = StoredHeadSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
        if (name === `${summary.runId}.json`) found.push(summary);
        else process.stderr.write(`Run history: ${file} holds run ${summary.runId}, not listed\n`);
      } catch (e) {
        // Left in place for a person to look at; it is not listed.
        process.stderr.write(`Run history: ${file} is not a readable run record, not listed: ${(e as Error).message}\n`);
      }
    }
    for (const summary of found.sort(newestFirst).reverse()) this.index.set(summary.runId, summary);
    this.trim();
  }

  /**
   * Writes an ended run's record (whole or not at all), then drops the oldest beyond the limit. Saves
   * happen one after another, so the index keeps the order runs ended in.
   */
  save(summary: RunSummary, events: RunEvent[]): Promise<void> {
    const json = JSON.stringify({ format: RUN_FORMAT, version: 1, summary, events } satisfies StoredRun);
    const saved = this.lastSave.then(async () => {
      await writeFileAtomic(this.file(summary.runId), json);
      this.index.delete(summary.runId);
      this.index.set(summary.runId, summary);
      this.trim();
    });
    this.lastSave = saved.catch(() => undefined);
    return saved;
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
      return StoredRunSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (e) {
      throw new Error(`Run record ${file} cannot be read: ${(e as Error).message}`);
    }
  }

  private file(runId: string): string {
    return path.join(this.dir, `${runId}.json`);
  }

  private trim(): void {
    for (const old of this.summaries().slice(this.limit)) {
      this.index.delete(old.runId);
      rmSync(this.file(old.runId), { force: true });
    }
  }
}

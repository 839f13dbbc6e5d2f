import { randomUUID } from 'node:crypto';
import type { Executor } from '../runtime/executor.ts';
import { type PreviewImage, type RunEvent, type RunListener, isActive, newRun, reduceRun, runSummary } from '../protocol/index.ts';
import { assertGraph, type CheckedGraph } from '../runtime/validate.ts';
import type { NodeRegistry } from '../runtime/registry.ts';
import { storedView, type RunHistory, type StoredRun } from './run-history.ts';
import { interruptedGraph, KEPT_OUTPUT_RUNS, type Accepted, type LiveRun, type RunEngine } from './queue/engine.ts';
import type { DataFolders } from '../runtime/data-folder.ts';
import { runSweep } from '../runtime/sweep/driver.ts';
import { planSweep, sweepOf } from '../runtime/sweep/plan.ts';

export interface RunRecord extends LiveRun {
  /** The graph as validated on submit: the executor runs it without checking it again. */
  checked: CheckedGraph;
  controller: AbortController;
  /** Settles once the record of the accepted (queued) run is on disk, so a kill from then on cannot lose it. */
  recorded: Promise<void>;
}

export interface RunQueueOptions {
  executor: Executor;
  registry: NodeRegistry;
  /** Where a sweep (a graph with meta.sweep) saves its cells and tables. */
  data: DataFolders;
  /** Where ended runs are saved. */
  history: RunHistory;
  /** Runs executed at the same time. */
  workers?: number;
  /** Ended runs also kept in memory (all of them are in the history on disk). */
  historyLimit?: number;
  /** Finished runs whose outputs stay in memory for viewing. */
  outputsLimit?: number;
  /** A going run's record is saved at most this often, so a crash keeps its log up to then. */
  saveEveryMs?: number;
}

/**
 * The embedded engine: an in-process FIFO of runs whose records are in the data folder, so a restart
 * takes up the runs that were queued. Runs belong to the server, not to a client: disconnecting stops nothing.
 */
export class RunQueue implements RunEngine {
  private runs = new Map<string, RunRecord>();
  private waiting: RunRecord[] = [];
  private active = 0;
  private listeners = new Set<RunListener>();
  /** Runs whose record is being written, with how many writes are pending. */
  private saving = new Map<string, number>();
  /** Going runs with a save scheduled. */
  private saveTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  /** Takes up at once the runs an earlier process accepted on this data folder and never started. */
  constructor(private readonly opts: RunQueueOptions) {
    for (const stored of opts.history.queuedAtStop()) this.takeUp(stored);
    this.pump();
  }

  /**
   * Validates (throws GraphValidationError listing every problem) and queues a run. Its record is written
   * at once (`recorded`), so a server killed before the run starts still lists it after a restart.
   */
  enqueue(graph: unknown, targets?: string[]): RunRecord {
    const checked = assertGraph(graph, this.opts.registry, { targets });
    const sweep = sweepOf(graph);
    if (sweep !== undefined) planSweep(graph, sweep, this.opts.registry);
    const runId = randomUUID();
    const record = this.hold(runId, checked, graph, targets, []);
    this.waiting.push(record);
    this.emit(record, { type: 'run.queued', runId, time: Date.now(), position: this.waiting.length - 1 });
    record.recorded = this.save(record);
    this.pump();
    return record;
  }

  async submit(graph: unknown, targets?: string[]): Promise<Accepted> {
    const record = this.enqueue(graph, targets);
    await record.recorded;
    const queued = record.events[0];
    return { runId: record.state.runId, position: queued?.type === 'run.queued' ? queued.position : 0 };
  }

  async requeue(runId: string): Promise<Accepted> {
    const { graph, targets } = interruptedGraph(this.opts.history, this.runs.get(runId), runId);
    return this.submit(graph, targets);
  }

  /** Queues again a run a stopped process left queued, under its own id, with its log so far. */
  private takeUp(stored: StoredRun): void {
    const { runId } = stored.summary;
    let checked: CheckedGraph;
    try {
      checked = assertGraph(stored.graph, this.opts.registry, { targets: stored.targets });
    } catch (e) {
      // Stays listed as interrupted (this server's nodes changed): the editor shows why when it is queued again.
      process.stderr.write(`Run ${runId} is not queued again after the restart: ${(e as Error).message}\n`);
      return;
    }
    const record = this.hold(runId, checked, stored.graph, stored.targets, stored.events);
    record.state = storedView(stored);
    this.waiting.push(record);
    this.emit(record, { type: 'log', runId, time: Date.now(), level: 'info', message: 'Queued again: the server stopped before this run started' });
  }

  private hold(runId: string, checked: CheckedGraph, graph: unknown, targets: string[] | undefined, events: RunEvent[]): RunRecord {
    const record: RunRecord = {
      state: newRun(runId), graphName: checked.graph.name, graph, checked, targets, events: [...events], controller: new AbortController(), recorded: Promise.resolve(),
    };
    this.runs.set(runId, record);
    return record;
  }

  get(runId: string): RunRecord | undefined {
    return this.runs.get(runId);
  }

  list(): RunRecord[] {
    return [...this.runs.values()].reverse();
  }

  /** Cancels a queued or running run (at once: the promise is for the interface). */
  async cancel(runId: string): Promise<boolean> {
    const record = this.runs.get(runId);
    if (!record || !isActive(record.state)) return false;
    record.controller.abort();
    const i = this.waiting.indexOf(record);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.emit(record, { type: 'run.cancelled', runId, time: Date.now(), durationMs: 0 });
    }
    return true;
  }

  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no run is queued, running or being saved (for tests and clean shutdown). */
  async idle(): Promise<void> {
    while (this.active || (this.waiting.length && !this.closed) || this.saving.size) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Stops the runs going and saves nothing more: on disk they stay as they were (running, so the next
   * server on this data folder lists them as interrupted, to be queued again; queued ones it runs).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const record of this.runs.values()) if (record.state.status === 'running') record.controller.abort();
    await this.idle();
  }

  private pump(): void {
    const workers = this.opts.workers ?? 1;
    while (!this.closed && this.active < workers && this.waiting.length) {
      const record = this.waiting.shift()!;
      this.active++;
      const options = {
        runId: record.state.runId,
        targets: record.targets,
        signal: record.controller.signal,
        onEvent: (event: RunEvent, preview?: PreviewImage) => this.emit(record, event, preview),
      };
      const sweep = sweepOf(record.graph);
      // A sweep's results are files in its folder, not outputs kept in memory.
      const running =
        sweep === undefined
          ? this.opts.executor.execute({ ok: true, checked: record.checked }, options)
          : runSweep(record.graph, sweep, { ...options, executor: this.opts.executor, registry: this.opts.registry, data: this.opts.data }).then(() => undefined);
      running
        .then((result) => {
          record.result = result;
          this.trimOutputs();
        })
        .catch((e: Error) => {
          // The executor reports node failures as events; reaching here is a bug, still reported to watchers.
          this.emit(record, { type: 'run.failed', runId: record.state.runId, time: Date.now(), message: e.message, durationMs: 0 });
        })
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }

  private emit(record: RunRecord, event: RunEvent, preview?: PreviewImage): void {
    record.state = reduceRun(record.state, event);
    if (event.type !== 'node.progress') record.events.push(event);
    if (event.type === 'run.finished' || event.type === 'run.failed' || event.type === 'run.cancelled') {
      clearTimeout(this.saveTimers.get(record.state.runId));
      this.saveTimers.delete(record.state.runId);
      void this.save(record);
    } else if (event.type === 'run.started') void this.save(record);
    else if (record.state.status === 'running' && event.type !== 'node.progress') this.saveSoon(record);
    for (const l of this.listeners) l(event, preview);
  }

  private saveSoon(record: RunRecord): void {
    const { runId } = record.state;
    if (this.saveTimers.has(runId)) return;
    const timer = setTimeout(() => {
      this.saveTimers.delete(runId);
      if (isActive(record.state)) void this.save(record);
    }, this.opts.saveEveryMs ?? 2000);
    timer.unref();
    this.saveTimers.set(runId, timer);
  }

  /** Writes the record; never rejects (a failed write is reported on stderr). */
  private save(record: RunRecord): Promise<void> {
    if (this.closed) return Promise.resolve();
    const { runId } = record.state;
    this.saving.set(runId, (this.saving.get(runId) ?? 0) + 1);
    return this.opts.history
      .save(runSummary(record.state, record.graphName, record.events), record.events, record.graph, record.targets)
      // A full disk must not stop the queue; the run stays viewable while it is in memory.
      .catch((e: Error) => void process.stderr.write(`Run ${runId} could not be saved to the history: ${e.message}\n`))
      .finally(() => {
        const left = this.saving.get(runId)! - 1;
        if (left) this.saving.set(runId, left);
        else this.saving.delete(runId);
        this.trimHistory();
      });
  }

  private trimHistory(): void {
    const limit = this.opts.historyLimit ?? 100;
    for (const [id, r] of this.runs) {
      if (this.runs.size <= limit) break;
      // Not before its save is done (the history cannot answer for it until then); its own save trims again.
      if (this.saving.has(id)) break;
      if (!isActive(r.state)) this.runs.delete(id);
    }
  }

  private trimOutputs(): void {
    const limit = this.opts.outputsLimit ?? KEPT_OUTPUT_RUNS;
    const withOutputs = [...this.runs.values()].filter((r) => r.result);
    for (const r of withOutputs.slice(0, Math.max(0, withOutputs.length - limit))) r.result = undefined;
  }
}

import { randomUUID } from 'node:crypto';
import type { Executor, RunResult } from '../runtime/executor.ts';
import type { PreviewImage, RunEvent, RunListener } from '../runtime/events.ts';
import { isActive, newRun, reduceRun, type RunView } from '../runtime/run-state.ts';
import { assertGraph } from '../runtime/validate.ts';
import type { NodeRegistry } from '../runtime/registry.ts';

export interface RunRecord {
  state: RunView;
  graphName: string;
  graph: unknown;
  targets?: string[];
  /** Every event but progress ticks (the latest progress lives in `state`). */
  events: RunEvent[];
  result?: RunResult;
  controller: AbortController;
}

export interface RunQueueOptions {
  executor: Executor;
  registry: NodeRegistry;
  /** Runs executed at the same time. */
  workers?: number;
  /** Finished runs kept in the history. */
  historyLimit?: number;
  /** Finished runs whose outputs stay in memory for viewing. */
  outputsLimit?: number;
}

/** In-process FIFO of runs. Runs belong to the server, not to a client: disconnecting stops nothing. */
export class RunQueue {
  private runs = new Map<string, RunRecord>();
  private waiting: RunRecord[] = [];
  private active = 0;
  private listeners = new Set<RunListener>();

  constructor(private readonly opts: RunQueueOptions) {}

  /** Validates (throws GraphValidationError listing every problem) and queues a run. */
  submit(graph: unknown, targets?: string[]): RunRecord {
    const checked = assertGraph(graph, this.opts.registry);
    const runId = randomUUID();
    const record: RunRecord = {
      state: newRun(runId),
      graphName: checked.graph.name,
      graph,
      targets,
      events: [],
      controller: new AbortController(),
    };
    this.runs.set(runId, record);
    this.waiting.push(record);
    this.emit(record, { type: 'run.queued', runId, time: Date.now(), position: this.waiting.length - 1 });
    this.pump();
    this.trimHistory();
    return record;
  }

  get(runId: string): RunRecord | undefined {
    return this.runs.get(runId);
  }

  list(): RunRecord[] {
    return [...this.runs.values()].reverse();
  }

  /** Cancels a queued or running run. Returns false for unknown or already ended runs. */
  cancel(runId: string): boolean {
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

  /** Resolves when no run is queued or running (for tests and clean shutdown). */
  async idle(): Promise<void> {
    while (this.active || this.waiting.length) await new Promise((r) => setTimeout(r, 10));
  }

  private pump(): void {
    const workers = this.opts.workers ?? 1;
    while (this.active < workers && this.waiting.length) {
      const record = this.waiting.shift()!;
      this.active++;
      this.opts.executor
        .run(record.graph, {
          runId: record.state.runId,
          targets: record.targets,
          signal: record.controller.signal,
          onEvent: (event, preview) => this.emit(record, event, preview),
        })
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
    for (const l of this.listeners) l(event, preview);
  }

  private trimHistory(): void {
    const limit = this.opts.historyLimit ?? 100;
    for (const [id, r] of this.runs) {
      if (this.runs.size <= limit) break;
      if (!isActive(r.state)) this.runs.delete(id);
    }
  }

  private trimOutputs(): void {
    const limit = this.opts.outputsLimit ?? 10;
    const withOutputs = [...this.runs.values()].filter((r) => r.result);
    for (const r of withOutputs.slice(0, Math.max(0, withOutputs.length - limit))) r.result = undefined;
  }
}

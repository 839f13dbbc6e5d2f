import type { RunResult } from '../../runtime/executor.ts';
import type { RunEvent, RunListener } from '../../protocol/index.ts';
import type { RunView } from '../../protocol/index.ts';

/** A run this server process holds in memory: queued, going, or one of the last ended. */
export interface LiveRun {
  state: RunView;
  graphName: string;
  graph: unknown;
  targets?: string[];
  /** Every event but progress ticks (the latest progress lives in `state`). */
  events: RunEvent[];
  /** The outputs, while kept in memory (only where the run was executed in this process). */
  result?: RunResult;
}

/** What POST /api/runs answers. */
export interface Accepted {
  runId: string;
  position: number;
}

/**
 * The queue the server's routes and WebSocket use, whichever engine runs it: the embedded one (this
 * process runs the runs; queue and records in the data folder) or Redis (BullMQ; workers run the runs).
 */
export interface RunEngine {
  /**
   * Validates (throws GraphValidationError listing every problem) and queues a run. Resolves once the
   * accepted run is stored durably, so a kill from then on cannot lose it.
   */
  submit(graph: unknown, targets?: string[]): Promise<Accepted>;
  /** Queues again, as a new run, the graph of a run that a stopped server or worker interrupted. */
  requeue(runId: string): Promise<Accepted>;
  get(runId: string): LiveRun | undefined;
  /** Newest first. */
  list(): LiveRun[];
  /** Cancels a queued or running run, wherever it runs. Resolves false for unknown or already ended runs. */
  cancel(runId: string): Promise<boolean>;
  subscribe(listener: RunListener): () => void;
  /** Resolves when this process has nothing queued, running or being saved (tests, clean shutdown). */
  idle(): Promise<void>;
  /** Stops taking runs and lets go of connections; queued runs stay queued for the next start. */
  close(): Promise<void>;
}

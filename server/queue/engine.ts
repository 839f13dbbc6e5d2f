import type { RunResult } from '../../runtime/executor.ts';
import type { RunEvent, RunListener } from '../../protocol/index.ts';
import { isActive, type RunView } from '../../protocol/index.ts';
import { HttpError } from '../http-error.ts';
import type { RunHistory } from '../run-history.ts';
import type { RunOutputs } from './worker-outputs.ts';

/** Ended runs whose outputs stay in memory for viewing, in either engine (the newest). */
export const KEPT_OUTPUT_RUNS = 10;
/** What a client may still get once a run's outputs are gone from memory. */
export const SAVED_FILES_NOTE = 'files its save nodes wrote are still served by /api/files/:id';

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
  /** A run a worker executed: that worker keeps its outputs; how many images each node's ports hold. */
  keptBy?: RunOutputs;
}

/** Gets a preview's binary frame (protocol/preview-frame.ts) and the run it belongs to. */
export type FrameListener = (runId: string, frame: Uint8Array) => void;

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
  /**
   * Preview frames (protocol/preview-frame.ts) of engines that carry them apart from the events: the
   * events' listeners then get `node.preview` without its bytes. The embedded engine gives them together.
   */
  subscribeFrames?(listener: FrameListener): () => void;
  /** One image of a run that a worker keeps (`keptBy`) as PNG; an HttpError saying why there is none. */
  outputPng?(runId: string, keptBy: RunOutputs, nodeId: string, port: string, index: number): Promise<Buffer>;
  /** Resolves when this process has nothing queued, running or being saved (tests, clean shutdown). */
  idle(): Promise<void>;
  /** Stops taking runs and lets go of connections; queued runs stay queued for the next start. */
  close(): Promise<void>;
}

/** The graph (and targets) of a run a stopped server or worker interrupted, to queue again; else a 409 saying why not. */
export function interruptedGraph(history: RunHistory, live: LiveRun | undefined, runId: string): { graph: unknown; targets?: string[] } {
  // A run taken up again after a restart is still listed as interrupted on disk until it starts.
  const stored = isActive(live?.state) ? undefined : history.read(runId);
  if (!stored?.summary.interrupted) throw new HttpError(409, `Run "${runId}" was not interrupted: run its graph again instead`);
  if (stored.graph === undefined) throw new HttpError(409, `Run "${runId}" was saved without its graph`);
  return { graph: stored.graph, targets: stored.targets };
}

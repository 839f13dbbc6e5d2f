// The one place that imports onnxruntime-node; everything else goes through models/session.
import * as ort from 'onnxruntime-node';

// onnxruntime 1.29 and later sends usage telemetry to Microsoft from Linux and macOS, keeps a device id
// and unsent events under ~/.cache/Microsoft, and leaves a log file in the temp folder, from every
// process. We run offline: off before the first session (ORT reads it then; worker threads' sessions see
// the process's environment), unless the user set it (ORT_DISABLE_TELEMETRY=0 leaves ORT's default).
process.env.ORT_DISABLE_TELEMETRY ??= '1';

export { ort };
/**
 * A tensor kept in a session's worker thread between runs, on the GPU for sessions whose outputs are
 * there (`preferredOutputLocation: 'gpu-buffer'`): ORT's IO binding. Fed only to sessions of the same
 * thread; `download` copies it to the host, `free` lets it go.
 */
export interface ResidentTensor {
  readonly resident: true;
  readonly type: OrtTensor['type'];
  readonly dims: readonly number[];
  /** Where ORT holds it: 'cpu', or 'gpu-buffer' on the GPU. */
  readonly location: string;
}
/** A small graph run beside a session, in its thread and on its provider (`key` names it there). */
export interface CompanionGraph {
  key: string;
  model: Uint8Array;
}
export type SessionFeed = OrtTensor | ResidentTensor;
/**
 * A session as the rest of the code uses it: ThreadSession (thread-session.ts), which createSession
 * makes, provides it around an ort.InferenceSession in its own thread.
 */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: ort.InferenceSession['inputMetadata'];
  readonly outputMetadata: ort.InferenceSession['outputMetadata'];
  /** Runs the session; outputs come to the host. */
  run(feeds: Record<string, SessionFeed>): Promise<Record<string, OrtTensor>>;
  /** Runs `graph` beside the session; outputs come to the host. */
  runBeside(graph: CompanionGraph, feeds: Record<string, SessionFeed>): Promise<Record<string, OrtTensor>>;
  /**
   * Runs the session with its inputs and outputs in the caller's buffers, lent to its thread and handed
   * back (transferred both ways, nothing copied or allocated): for many runs over the same buffers, where
   * fresh memory each run costs more than the run (a page fault per 4 KiB). The given arrays are
   * detached until it returns; the returned tensors are over the same buffers.
   */
  runLent(feeds: Record<string, OrtTensor>, outputs: Record<string, OrtTensor>): Promise<{ feeds: Record<string, OrtTensor>; outputs: Record<string, OrtTensor> }>;
  /** Runs the session (or `graph` beside it) and keeps every output in its thread. */
  runResident(feeds: Record<string, SessionFeed>, graph?: CompanionGraph): Promise<Record<string, ResidentTensor>>;
  /** A host tensor made resident (copied to the GPU for GPU sessions). */
  upload(tensor: OrtTensor): Promise<ResidentTensor>;
  download(tensor: ResidentTensor): Promise<OrtTensor>;
  free(tensors: readonly ResidentTensor[]): Promise<void>;
  release(): Promise<void>;
  /** The options ORT's session creation was given (provider and threads included). */
  readonly options: OrtSessionOptions;
}
export type OrtTensor = ort.Tensor;
export type OrtSessionOptions = ort.InferenceSession.SessionOptions;

// The one place that imports onnxruntime-node; everything else goes through models/session.
import * as ort from 'onnxruntime-node';

export { ort };
/**
 * A session as the rest of the code uses it: ThreadSession (thread-session.ts), which createSession
 * makes, provides it around an ort.InferenceSession in its own thread.
 */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: ort.InferenceSession['inputMetadata'];
  readonly outputMetadata: ort.InferenceSession['outputMetadata'];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
  /** The options ORT's session creation was given (provider and threads included). */
  readonly options: OrtSessionOptions;
}
export type OrtTensor = ort.Tensor;
export type OrtSessionOptions = ort.InferenceSession.SessionOptions;

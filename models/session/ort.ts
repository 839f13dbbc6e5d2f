// The one place that imports onnxruntime-node; everything else goes through models/session.
import * as ort from 'onnxruntime-node';

export { ort };
export type OrtSession = ort.InferenceSession;
export type OrtTensor = ort.Tensor;
export type OrtSessionOptions = ort.InferenceSession.SessionOptions;

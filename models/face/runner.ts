// What the face functions need from a loaded model: feed named float tensors, get named outputs.
import type { HostTensor } from '../onnx/index.ts';

export interface ModelRunner {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
}

export function floatInput(data: Float32Array, dims: number[]): HostTensor {
  return { dtype: 'float32', dims, data };
}

/** An output as float32 data; throws when it is missing or of another type. */
export function floatOutput(outputs: Record<string, HostTensor>, name: string): Float32Array {
  const t = outputs[name];
  if (!t) throw new Error(`model output ${name} missing (have ${Object.keys(outputs).join(', ')})`);
  if (!(t.data instanceof Float32Array)) throw new Error(`model output ${name} is ${t.dtype}, expected float32`);
  return t.data;
}

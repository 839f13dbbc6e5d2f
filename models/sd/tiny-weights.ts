import type { HostTensor } from '../onnx/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { buildPart, SD_PARTS } from './build.ts';
import type { SdConfig } from './config.ts';
import { ShapeRecorder } from './weight-source.ts';

/** Every weight key and shape a config's four graphs use, in build order. */
export function weightShapes(config: SdConfig): Map<string, number[]> {
  const recorder = new ShapeRecorder();
  for (const part of SD_PARTS) buildPart(config, part, recorder, { lora: false });
  return recorder.shapes;
}

/**
 * How a weight starts: norm scales 1 and shifts 0, embeddings N(0, 0.02), other weights N(0, 1/fan_in)
 * so activations keep their scale, biases N(0, 0.02).
 */
export function weightInit(key: string, dims: readonly number[]): { constant: number } | { std: number } {
  const n = dims.reduce((a, d) => a * d, 1);
  const isNorm = /norm[^.]*\.(weight|bias)$|\.(in_layers|out_layers)\.0\.|\.out\.0\.|\.norm\.|norm_out/.test(key) && dims.length === 1;
  if (isNorm) return { constant: key.endsWith('.weight') ? 1 : 0 };
  if (key.endsWith('.bias')) return { std: 0.02 };
  return { std: key.includes('embedding') ? 0.02 : 1 / Math.sqrt(n / dims[0]!) };
}

/** Seeded random weights for a config under its checkpoint key names, started as `weightInit` says. */
export function randomWeights(config: SdConfig, seed: number): Map<string, HostTensor> {
  const rng = new Rng(seed);
  const out = new Map<string, HostTensor>();
  for (const [key, dims] of weightShapes(config)) {
    const data = new Float32Array(dims.reduce((a, d) => a * d, 1));
    const init = weightInit(key, dims);
    if ('constant' in init) data.fill(init.constant);
    else for (let i = 0; i < data.length; i++) data[i] = init.std * rng.normal();
    out.set(key, { dtype: 'float32', dims, data });
  }
  return out;
}

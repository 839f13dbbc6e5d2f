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
 * Seeded random weights for a config under its checkpoint key names: norm scales 1 and shifts 0,
 * embeddings N(0, 0.02), other weights N(0, 1/fan_in) so activations keep their scale, biases small.
 */
export function randomWeights(config: SdConfig, seed: number): Map<string, HostTensor> {
  const rng = new Rng(seed);
  const out = new Map<string, HostTensor>();
  for (const [key, dims] of weightShapes(config)) {
    const n = dims.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    const isNorm = /norm[^.]*\.(weight|bias)$|\.(in_layers|out_layers)\.0\.|\.out\.0\.|\.norm\.|norm_out/.test(key) && dims.length === 1;
    if (isNorm) {
      if (key.endsWith('.weight')) data.fill(1);
    } else if (key.endsWith('.bias')) {
      for (let i = 0; i < n; i++) data[i] = 0.02 * rng.normal();
    } else {
      const std = key.includes('embedding') ? 0.02 : 1 / Math.sqrt(n / dims[0]);
      for (let i = 0; i < n; i++) data[i] = std * rng.normal();
    }
    out.set(key, { dtype: 'float32', dims, data });
  }
  return out;
}

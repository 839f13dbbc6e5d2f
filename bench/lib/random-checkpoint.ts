// A full-size checkpoint with random weights for the benches (bench/run.ts runs only bench/*.ts, not
// this folder): every tensor the config's graphs use, under its LDM key, started as weightInit says
// (tiny-weights.ts). Drawing a billion normals in JavaScript takes minutes, so each distinct scale gets
// a pool of 1M seeded normals (in the file's dtype) and a tensor is copied out of it from seeded offsets.
import { toFloat16 } from '../../models/onnx/index.ts';
import type { SdConfig } from '../../models/sd/config.ts';
import { weightInit, weightShapes } from '../../models/sd/tiny-weights.ts';
import { writeSafetensorsStream } from '../../models/safetensors.ts';
import { Rng } from '../../runtime/rng.ts';

const POOL = 1 << 20;
const CHUNK = 1 << 16;

export async function writeRandomCheckpoint(file: string, config: SdConfig, dtype: 'float16' | 'float32', seed = 1): Promise<void> {
  const shapes = [...weightShapes(config)];
  const rng = new Rng(seed);
  const base = rng.fillNormal(new Float32Array(POOL));
  const pools = new Map<string, Uint16Array | Float32Array>();
  const pool = (value: number, constant: boolean): Uint16Array | Float32Array => {
    const key = `${constant}:${value}`;
    let p = pools.get(key);
    if (!p) {
      const f32 = constant ? new Float32Array(POOL).fill(value) : base.map((v) => v * value);
      p = dtype === 'float16' ? toFloat16(f32) : f32;
      pools.set(key, p);
    }
    return p;
  };
  function* data() {
    for (const [key, dims] of shapes) {
      const n = dims.reduce((a, d) => a * d, 1);
      const init = weightInit(key, dims);
      const from = 'constant' in init ? pool(init.constant, true) : pool(init.std, false);
      const out = dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i += CHUNK) {
        const start = Math.floor(rng.uniform() * (POOL - CHUNK));
        out.set(from.subarray(start, start + Math.min(CHUNK, n - i)), i);
      }
      yield out;
    }
  }
  await writeSafetensorsStream(file, shapes.map(([name, dims]) => ({ name, dtype, dims })), data(), { note: `random ${config.name} weights for benchmarks` });
}

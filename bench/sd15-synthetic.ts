// The full-size SD1.5 UNet's weights as synthetic fp16 in one file of external data (what a real
// checkpoint looks like to the loader), shared by the SD1.5-size benches. About 1.6 GiB in the temp
// folder; `removeIfCreated` deletes it when this process wrote it.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { float32ToFloat16Bits } from '../models/onnx/index.ts';
import { buildPart } from '../models/sd/build.ts';
import { sd15 } from '../models/sd/config.ts';
import { ExternalWeights, type StoredTensor } from '../models/sd/external-weights.ts';
import { ShapeRecorder } from '../models/sd/weight-source.ts';

export interface SyntheticUnet {
  dir: string;
  weights: ExternalWeights;
  /** Whether this call wrote the file (it was not there). */
  created: boolean;
}

export function syntheticSd15Unet(dir = path.join(os.tmpdir(), 'facechain-sd15-synthetic')): SyntheticUnet {
  const file = 'unet-f16.bin';
  const recorder = new ShapeRecorder();
  buildPart(sd15, 'unet', recorder, { lora: false });
  const index = new Map<string, StoredTensor>();
  let offset = 0;
  for (const [key, dims] of recorder.shapes) {
    index.set(key, { file, offset, dtype: 'float16', dims });
    offset += dims.reduce((a, d) => a * d, 1) * 2;
  }
  const target = path.join(dir, file);
  const created = !existsSync(target) || statSync(target).size !== offset;
  if (created) {
    // Norms 1, biases 0, others uniform with variance 1/fan_in (a cheap LCG; values do not matter).
    mkdirSync(dir, { recursive: true });
    const t = performance.now();
    const fd = openSync(target, 'w');
    let seed = 1;
    for (const [key, dims] of recorder.shapes) {
      const n = dims.reduce((a, d) => a * d, 1);
      const bits = new Uint16Array(n);
      if (dims.length === 1) {
        if (/norm.*\.weight$|layers\.0\.weight$|out\.0\.weight$/.test(key)) bits.fill(float32ToFloat16Bits(1));
      } else {
        const bound = Math.sqrt(3 / (n / dims[0]));
        for (let i = 0; i < n; i++) {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          bits[i] = float32ToFloat16Bits(((seed / 2 ** 32) * 2 - 1) * bound);
        }
      }
      writeSync(fd, bits);
    }
    closeSync(fd);
    console.log(`wrote ${(offset / 2 ** 30).toFixed(2)} GiB of synthetic fp16 weights to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return { dir, weights: new ExternalWeights(index), created };
}

export function removeIfCreated(u: SyntheticUnet): void {
  if (u.created) rmSync(u.dir, { recursive: true, force: true });
}

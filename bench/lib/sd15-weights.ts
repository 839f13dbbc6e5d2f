// The SD1.5-size random fp16 checkpoint the SD1.5 benches share (random-checkpoint.ts, about 2 GiB in
// the temp folder, kept there for the next bench), with an index of its tensors as external weights.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensorsHeader } from '../../models/safetensors.ts';
import { sd15 } from '../../models/sd/config.ts';
import { ExternalWeights } from '../../models/sd/external-weights.ts';
import { checkpointIndex } from '../../models/sd/load-model.ts';
import { writeRandomCheckpoint } from './random-checkpoint.ts';

export interface Sd15Weights {
  dir: string;
  file: string;
  weights: ExternalWeights;
  /** Whether this call wrote the file (it was not there). */
  created: boolean;
}

export async function sd15Weights(dir = path.join(os.tmpdir(), 'facechain-sd15-synthetic')): Promise<Sd15Weights> {
  const file = 'sd15-f16.safetensors';
  const created = !existsSync(path.join(dir, file));
  if (created) {
    mkdirSync(dir, { recursive: true });
    const t = performance.now();
    await writeRandomCheckpoint(path.join(dir, file), sd15, 'float16');
    console.log(`wrote a random fp16 SD1.5 checkpoint to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const index = checkpointIndex(await readSafetensorsHeader(path.join(dir, file)), file);
  return { dir, file, weights: new ExternalWeights(index), created };
}

export function removeIfCreated(w: Sd15Weights): void {
  if (w.created) rmSync(w.dir, { recursive: true, force: true });
}

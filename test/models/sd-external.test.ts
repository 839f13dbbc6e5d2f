import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toFloat16, type DType } from '../../models/onnx/index.ts';
import { tiny } from '../../models/sd/config.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { ExternalWeights, type StoredTensor } from '../../models/sd/external-weights.ts';
import { sdModelFromWeights } from '../../models/sd/sd-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { loraFeeds } from '../../models/sd/lora-feeds.ts';
import { tempDir } from '../helpers/temp.ts';

const weights = randomWeights(tiny, 3);
const tokenizer = clipTokenizerFromJson(tinyClipTokenizerJson());
const params = { prompt: 'a portrait', steps: 4, width: 64, height: 64, seed: 1, scheduler: 'euler' as const };

/** Writes the weights back to back into one file, as a checkpoint holds them, and indexes them. */
function writeCheckpoint(dtype: DType): { dir: string; index: Map<string, StoredTensor> } {
  const dir = tempDir('sd-ext');
  const parts: Uint8Array[] = [];
  const index = new Map<string, StoredTensor>();
  let offset = 7; // unaligned on purpose, like tensors after a safetensors header
  parts.push(new Uint8Array(7));
  for (const [key, t] of weights) {
    const data = t.data as Float32Array;
    const bytes = dtype === 'float16' ? new Uint8Array(toFloat16(data).buffer) : new Uint8Array(data.buffer.slice(0));
    index.set(key, { file: 'weights.bin', offset, dtype, dims: t.dims });
    parts.push(bytes);
    offset += bytes.length;
  }
  writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(parts));
  return { dir, index };
}

describe('weights as external data in a checkpoint file', () => {
  it('fp32 external weights give the same latents as inline weights', async () => {
    const inline = sdModelFromWeights('inline', tiny, tokenizer, new TensorWeights(weights));
    const { dir, index } = writeCheckpoint('float32');
    const external = new ExternalWeights(index);
    const model = sdModelFromWeights('external', tiny, tokenizer, external, { weightsDir: dir });
    const a = await sample(inline, params);
    const b = await sample(model, params);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(external.unused()).toEqual([]);
  });

  it('fp16 weights are cast in the graph and stay close to fp32', async () => {
    const { dir, index } = writeCheckpoint('float16');
    const model = sdModelFromWeights('external16', tiny, tokenizer, new ExternalWeights(index), { weightsDir: dir });
    const feeds = {
      sample: { dtype: 'float32' as const, dims: [1, 4, 8, 8], data: new Float32Array(256).fill(0.3) },
      timestep: { dtype: 'float32' as const, dims: [1], data: Float32Array.from([400]) },
      context: { dtype: 'float32' as const, dims: [1, 77, 32], data: new Float32Array(77 * 32).fill(0.1) },
      ...loraFeeds(model.loraTargets.unet),
    };
    const out = await (await model.session('unet')).run(feeds);
    const inline = sdModelFromWeights('inline', tiny, tokenizer, new TensorWeights(weights));
    const ref = await (await inline.session('unet')).run(feeds);
    const a = out.eps!.data as Float32Array;
    const r = ref.eps!.data as Float32Array;
    const err = Math.max(...a.map((v, i) => Math.abs(v - r[i]!)));
    const scale = Math.max(...r.map(Math.abs));
    expect(err / scale).toBeLessThan(1e-2);
    expect(err).toBeGreaterThan(0);
  });
});

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toFloat16, type HostTensor } from '../../models/onnx/index.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { tiny } from '../../models/sd/config.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { tempData } from '../helpers/test-nodes.ts';

const params = { prompt: 'a portrait of a woman', negativePrompt: '', steps: 3, width: 64, height: 64, seed: 7, cfg: 5 };

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
}

describe('single-file checkpoints', () => {
  it('loads tiny weights written as a real safetensors file (fp32 and fp16) like the in-memory model', async () => {
    const data = tempData();
    const dir = path.join(data.models, 'checkpoints');
    mkdirSync(path.join(dir, 'tokenizer'), { recursive: true });
    writeFileSync(path.join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
    const weights = randomWeights(tiny, 3);
    await writeSafetensors(path.join(dir, 'tiny-f32.safetensors'), weights, { note: 'test' });
    const half = new Map<string, HostTensor>([...weights].map(([k, t]) => [k, { dtype: 'float16', dims: t.dims, data: toFloat16(t.data as Float32Array) }]));
    await writeSafetensors(path.join(dir, 'tiny-f16.safetensors'), half);

    const reference = (await sample(tinyModel(3), params)).data;
    const f32 = (await sample(await loadSdModel('tiny-f32.safetensors', data.models), params)).data;
    expect(maxDiff(f32, reference)).toBeLessThan(1e-4);
    const f16 = (await sample(await loadSdModel('tiny-f16.safetensors', data.models), params)).data;
    const d16 = maxDiff(f16, reference);
    expect(d16).toBeGreaterThan(0);
    expect(d16).toBeLessThan(0.1);
  });

  it('names what is wrong: missing file, pickles, other models, missing tokenizer', async () => {
    const data = tempData();
    const dir = path.join(data.models, 'checkpoints');
    mkdirSync(dir, { recursive: true });
    await expect(loadSdModel('none.safetensors', data.models)).rejects.toThrow(/"none.safetensors" is not in data\/models\/checkpoints/);
    writeFileSync(path.join(dir, 'old.ckpt'), 'x');
    await expect(loadSdModel('old.ckpt', data.models)).rejects.toThrow(/only .safetensors/);
    await writeSafetensors(path.join(dir, 'other.safetensors'), { 'model.layers.0.weight': { dtype: 'float32', dims: [2], data: new Float32Array(2) } });
    await expect(loadSdModel('other.safetensors', data.models)).rejects.toThrow(/not a Stable Diffusion checkpoint/);
    await writeSafetensors(path.join(dir, 'tiny.safetensors'), randomWeights(tiny, 1));
    await expect(loadSdModel('tiny.safetensors', data.models)).rejects.toThrow(/needs CLIP's tokenizer files/);
    await expect(loadSdModel('../../escape.safetensors', data.models)).rejects.toThrow(/leaves its folder/);
  });
});

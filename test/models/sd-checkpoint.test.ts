import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toFloat16, type HostTensor } from '../../models/onnx/index.ts';
import { readSafetensorsHeader, writeSafetensors } from '../../models/safetensors.ts';
import { ldmKeyToDiffusers, type DiffusersFolder } from '../../models/sd/checkpoint-names.ts';
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
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
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

describe('other layouts', () => {
  it('loads a diffusers folder (diffusers names, pre-0.14 VAE attention, fp16 variant files) like the LDM file', async () => {
    const data = tempData();
    const dir = path.join(data.models, 'checkpoints', 'tiny-diffusers');
    const files: Record<DiffusersFolder, Map<string, HostTensor>> = { unet: new Map(), text_encoder: new Map(), vae: new Map() };
    for (const [key, t] of randomWeights(tiny, 3)) {
      const [folder, name] = ldmKeyToDiffusers(key, tiny);
      // diffusers stores the VAE's 1x1 attention convs as linear layers, under the old names here.
      const old = name.replace('.to_q.', '.query.').replace('.to_out.0.', '.proj_attn.');
      files[folder].set(old, { ...t, dims: folder === 'vae' && name.includes('attentions') ? t.dims.filter((d) => d !== 1) : t.dims });
    }
    for (const folder of ['unet', 'text_encoder', 'vae'] as const) mkdirSync(path.join(dir, folder), { recursive: true });
    await writeSafetensors(path.join(dir, 'unet/diffusion_pytorch_model.safetensors'), files.unet);
    await writeSafetensors(path.join(dir, 'text_encoder/model.safetensors'), files.text_encoder);
    const half = new Map([...files.vae].map(([k, t]): [string, HostTensor] => [k, { dtype: 'float16', dims: t.dims, data: toFloat16(t.data as Float32Array) }]));
    await writeSafetensors(path.join(dir, 'vae/diffusion_pytorch_model.fp16.safetensors'), half);
    writeFileSync(path.join(dir, 'model_index.json'), '{}');
    await expect(loadSdModel('tiny-diffusers', data.models)).rejects.toThrow(/"tiny-diffusers" has no tokenizer\/ folder/);
    mkdirSync(path.join(dir, 'tokenizer'));
    writeFileSync(path.join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));

    const model = await loadSdModel('tiny-diffusers', data.models);
    // Latents only go through text encoder and UNet (fp32 here), so they match the in-memory model.
    expect(maxDiff((await sample(model, params)).data, (await sample(tinyModel(3), params)).data)).toBeLessThan(1e-4);
    const missing = path.join(data.models, 'checkpoints', 'no-unet');
    mkdirSync(missing);
    writeFileSync(path.join(missing, 'model_index.json'), '{}');
    await expect(loadSdModel('no-unet', data.models)).rejects.toThrow(/has no unet\/diffusion_pytorch_model.safetensors/);
  });

  it('"tiny" is a real LDM safetensors file in the converted cache, with its tokenizer beside it', async () => {
    const data = tempData();
    const builtins = new Map();
    const model = await loadSdModel('tiny', data.models, builtins);
    expect(await loadSdModel('tiny', data.models, builtins)).toBe(model);
    // Beside it in converted/: the folder of its built graphs.
    const [key] = readdirSync(path.join(data.models, 'converted')).filter((k) => existsSync(path.join(data.models, 'converted', k, 'tiny.safetensors')));
    const file = path.join(data.models, 'converted', key!, 'tiny.safetensors');
    const header = await readSafetensorsHeader(file);
    expect(header.entries.get('model.diffusion_model.input_blocks.0.0.weight')?.dims).toEqual([32, 4, 3, 3]);
    expect(header.entries.has('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight')).toBe(true);
    expect(existsSync(path.join(data.models, 'converted', key!, 'tokenizer.json'))).toBe(true);
    expect(maxDiff((await sample(model, params)).data, (await sample(tinyModel(0), params)).data)).toBeLessThan(1e-4);
  });
});

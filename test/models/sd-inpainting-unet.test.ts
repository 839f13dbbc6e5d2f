// The inpainting checkpoint variant (sd-v1-5-inpainting layout: a UNet whose conv_in takes 9
// channels): detected from the checkpoint's conv_in shape in the LDM and diffusers layouts, built,
// and fed by the sampler with the mask and the masked image's latent.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '../../models/onnx/index.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { ldmKeyToDiffusers, type DiffusersFolder } from '../../models/sd/checkpoint-names.ts';
import { tiny, type SdConfig } from '../../models/sd/config.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import { removeTempDirs } from '../helpers/temp.ts';
import { tempData } from '../helpers/test-nodes.ts';

afterAll(removeTempDirs);

const inpaintingTiny: SdConfig = { ...tiny, unet: { ...tiny.unet, inChannels: 9 } };
const SIZE = 64;
const params = { prompt: 'a portrait of a woman', steps: 4, width: SIZE, height: SIZE, seed: 7, cfg: 5, scheduler: 'euler', strength: 1 } as const;

function picture(): Image {
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < SIZE * SIZE; i++) {
    data[i * 3] = (i % SIZE) * 4;
    data[i * 3 + 1] = Math.floor(i / SIZE) * 4;
    data[i * 3 + 2] = 90;
  }
  return { width: SIZE, height: SIZE, channels: 3, data };
}

function squareMask(x0: number, x1: number): Mask {
  const data = new Uint8Array(SIZE * SIZE);
  for (let y = 16; y < 48; y++) data.fill(255, y * SIZE + x0, y * SIZE + x1);
  return { width: SIZE, height: SIZE, channels: 1, data };
}

async function writeCheckpoints(models: string, weights: Map<string, HostTensor>): Promise<void> {
  const dir = path.join(models, 'checkpoints');
  mkdirSync(path.join(dir, 'tokenizer'), { recursive: true });
  writeFileSync(path.join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  await writeSafetensors(path.join(dir, 'tiny-inpainting.safetensors'), weights);

  const folder = path.join(dir, 'tiny-inpainting-diffusers');
  const files: Record<DiffusersFolder, Map<string, HostTensor>> = { unet: new Map(), text_encoder: new Map(), vae: new Map() };
  for (const [key, t] of weights) {
    const [part, name] = ldmKeyToDiffusers(key, inpaintingTiny);
    files[part].set(name, t);
  }
  for (const part of ['unet', 'text_encoder', 'vae'] as const) mkdirSync(path.join(folder, part), { recursive: true });
  await writeSafetensors(path.join(folder, 'unet/diffusion_pytorch_model.safetensors'), files.unet);
  await writeSafetensors(path.join(folder, 'text_encoder/model.safetensors'), files.text_encoder);
  await writeSafetensors(path.join(folder, 'vae/diffusion_pytorch_model.safetensors'), files.vae);
  writeFileSync(path.join(folder, 'model_index.json'), '{}');
  mkdirSync(path.join(folder, 'tokenizer'));
  writeFileSync(path.join(folder, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
}

describe('inpainting UNet (9 input channels)', () => {
  it('is detected from conv_in in both layouts, loads the same weights and samples with the mask and masked image', async () => {
    const data = tempData();
    const weights = randomWeights(inpaintingTiny, 11);
    expect(weights.get('model.diffusion_model.input_blocks.0.0.weight')?.dims).toEqual([32, 9, 3, 3]);
    await writeCheckpoints(data.models, weights);

    const ldm = await loadSdModel('tiny-inpainting.safetensors', data.models);
    const diffusers = await loadSdModel('tiny-inpainting-diffusers', data.models);
    for (const model of [ldm, diffusers]) {
      expect(model.config.unet.inChannels).toBe(9);
      // LoRAs made for the base model still fit it.
      expect(model.config.name).toBe('tiny');
    }
    const init = picture();
    const left = squareMask(8, 32);
    const a = await sample(ldm, params, { init, mask: left });
    expect([a.channels, a.height, a.width]).toEqual([4, SIZE / 8, SIZE / 8]);
    expect(a.data.every(Number.isFinite)).toBe(true);
    // Same weights under diffusers names: the same latents.
    const b = await sample(diffusers, params, { init, mask: left });
    expect(Math.max(...a.data.map((v, k) => Math.abs(v - b.data[k]!)))).toBeLessThan(1e-4);

    // The UNet sees the mask and the masked image: another mask or image changes the result.
    const right = await sample(ldm, params, { init, mask: squareMask(32, 56) });
    expect(right.data).not.toEqual(a.data);
    const other = { ...init, data: init.data.map((v) => 255 - v) };
    expect((await sample(ldm, params, { init: other, mask: left })).data).not.toEqual(a.data);
    // Without a mask it repaints everything (txt2img), deterministic per seed.
    const t2i = await sample(ldm, params);
    expect(t2i.data).toEqual((await sample(ldm, params)).data);
  });

  it('refuses a UNet whose conv_in takes another number of channels', async () => {
    const data = tempData();
    const dir = path.join(data.models, 'checkpoints');
    mkdirSync(path.join(dir, 'tokenizer'), { recursive: true });
    writeFileSync(path.join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
    await writeSafetensors(path.join(dir, 'odd.safetensors'), randomWeights({ ...tiny, unet: { ...tiny.unet, inChannels: 5 } }, 1));
    await expect(loadSdModel('odd.safetensors', data.models)).rejects.toThrow(/5 input channels is neither a normal \(4\) nor an inpainting \(9\)/);
  });
});

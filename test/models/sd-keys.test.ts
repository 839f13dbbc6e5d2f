import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildPart, loraNameOf, SD_PARTS } from '../../models/sd/build.ts';
import { sd15 } from '../../models/sd/config.ts';
import { ldmKeyToDiffusers } from '../../models/sd/checkpoint-names.ts';
import { isNonWeightKey, NON_WEIGHT_KEYS } from '../../models/sd/checkpoint-keys.ts';
import { diffusersIndex } from '../../models/sd/diffusers-index.ts';
import { ShapeRecorder } from '../../models/sd/weight-source.ts';
import { ExternalWeights, type StoredTensor } from '../../models/sd/external-weights.ts';
import type { DType } from '../../models/onnx/index.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/sd15-keys.json', import.meta.url), 'utf8')) as {
  tensors: Record<string, { shape: number[]; dtype: string }>;
};

describe('the sd15 architecture consumes the SD1.5 checkpoint key list exactly', () => {
  const recorder = new ShapeRecorder();
  const targets = SD_PARTS.flatMap((part) => buildPart(sd15, part, recorder).loraTargets);

  it('asks for every weight key with its shape, and nothing else', () => {
    const weights = Object.entries(fixture.tensors).filter(([k]) => !NON_WEIGHT_KEYS.has(k));
    expect(weights.length).toBe(1130);
    for (const [key, { shape }] of weights) expect(recorder.shapes.get(key), key).toEqual(shape);
    expect([...recorder.shapes.keys()].filter((k) => !(k in fixture.tensors))).toEqual([]);
    expect(recorder.shapes.size).toBe(weights.length);
    const params = (prefix: string) => [...recorder.shapes].filter(([k]) => k.startsWith(prefix))
      .reduce((n, [, s]) => n + s.reduce((a, d) => a * d, 1), 0);
    expect(params('model.diffusion_model.')).toBe(859_520_964);
    expect(params('cond_stage_model.')).toBe(123_060_480);
    expect(params('first_stage_model.')).toBe(83_653_863);
  });

  it('puts LoRA inputs at kohya\'s targets with kohya names', () => {
    expect(targets.filter((t) => t.name.startsWith('lora_unet_')).length).toBe(16 * 12);
    expect(targets.filter((t) => t.name.startsWith('lora_te_')).length).toBe(12 * 6);
    const byName = new Map(targets.map((t) => [t.name, t]));
    expect(byName.get('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q')).toMatchObject({
      module: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q', in: 320, out: 320, kind: 'linear',
    });
    expect(byName.get('lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_k')).toMatchObject({ in: 768, out: 320 });
    expect(byName.get('lora_unet_mid_block_attentions_0_proj_in')).toMatchObject({ in: 1280, out: 1280, kind: 'conv1x1' });
    expect(byName.get('lora_unet_down_blocks_2_attentions_1_transformer_blocks_0_ff_net_0_proj')).toMatchObject({ in: 1280, out: 10240 });
    expect(byName.get('lora_te_text_model_encoder_layers_11_mlp_fc2')).toMatchObject({
      module: 'cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2', in: 3072, out: 768,
    });
    expect(loraNameOf('model.diffusion_model.input_blocks.1.0.emb_layers.1', sd15)).toBeUndefined();
  });

  it('maps every key to a diffusers folder key', () => {
    const samples: Record<string, [string, string]> = {
      'model.diffusion_model.input_blocks.3.0.op.weight': ['unet', 'down_blocks.0.downsamplers.0.conv.weight'],
      'model.diffusion_model.input_blocks.4.0.skip_connection.bias': ['unet', 'down_blocks.1.resnets.0.conv_shortcut.bias'],
      'model.diffusion_model.middle_block.2.emb_layers.1.weight': ['unet', 'mid_block.resnets.1.time_emb_proj.weight'],
      'model.diffusion_model.output_blocks.2.1.conv.weight': ['unet', 'up_blocks.0.upsamplers.0.conv.weight'],
      'model.diffusion_model.output_blocks.5.2.conv.bias': ['unet', 'up_blocks.1.upsamplers.0.conv.bias'],
      'model.diffusion_model.output_blocks.11.1.proj_out.weight': ['unet', 'up_blocks.3.attentions.2.proj_out.weight'],
      'model.diffusion_model.time_embed.2.bias': ['unet', 'time_embedding.linear_2.bias'],
      'first_stage_model.decoder.up.3.block.0.conv1.weight': ['vae', 'decoder.up_blocks.0.resnets.0.conv1.weight'],
      'first_stage_model.decoder.up.1.upsample.conv.weight': ['vae', 'decoder.up_blocks.2.upsamplers.0.conv.weight'],
      'first_stage_model.encoder.down.1.block.0.nin_shortcut.weight': ['vae', 'encoder.down_blocks.1.resnets.0.conv_shortcut.weight'],
      'first_stage_model.encoder.mid.attn_1.proj_out.bias': ['vae', 'encoder.mid_block.attentions.0.to_out.0.bias'],
      'first_stage_model.decoder.norm_out.weight': ['vae', 'decoder.conv_norm_out.weight'],
      'first_stage_model.post_quant_conv.weight': ['vae', 'post_quant_conv.weight'],
      'cond_stage_model.transformer.text_model.final_layer_norm.bias': ['text_encoder', 'text_model.final_layer_norm.bias'],
    };
    for (const [ldm, expected] of Object.entries(samples)) expect(ldmKeyToDiffusers(ldm, sd15), ldm).toEqual(expected);
    const mapped = new Set([...recorder.shapes.keys()].map((k) => ldmKeyToDiffusers(k, sd15).join('/')));
    expect(mapped.size).toBe(recorder.shapes.size);
  });
});

/** A checkpoint index with the fixture's keys and shapes; offsets are fake (building reads no bytes). */
function fixtureIndex(dtype: DType): Map<string, StoredTensor> {
  let offset = 0;
  const index = new Map<string, StoredTensor>();
  for (const [key, t] of Object.entries(fixture.tensors)) {
    index.set(key, { file: 'v1-5.safetensors', offset, dtype: t.dtype === 'I64' ? 'int64' : dtype, dims: t.shape });
    offset += t.shape.reduce((a, d) => a * d, 1) * 4;
  }
  return index;
}

describe('the checkpoint loader on the fixture key list', () => {
  it('uses every weight key and leaves only the known non-weight keys', () => {
    const weights = new ExternalWeights(fixtureIndex('float16'));
    const parts = SD_PARTS.map((part) => buildPart(sd15, part, weights));
    expect(weights.used.size).toBe(1130);
    expect(weights.unused()).toEqual([]);
    // fp16 weights stay fp16 in the file and are cast in the graph; nothing is held inline.
    const unet = parts[1]!.builder;
    expect(unet.weightBytes.external).toBe(859_520_964 * 2);
    expect(unet.weightBytes.inline).toBeLessThan(100_000);
  });

  it('names missing keys, shape mismatches and unexpected keys', () => {
    const missing = fixtureIndex('float32');
    missing.delete('model.diffusion_model.out.2.weight');
    expect(() => buildPart(sd15, 'unet', new ExternalWeights(missing))).toThrow(/checkpoint has no model.diffusion_model.out.2.weight/);
    const wrong = fixtureIndex('float32');
    wrong.set('first_stage_model.decoder.conv_in.weight', { file: 'x', offset: 0, dtype: 'float32', dims: [512, 8, 3, 3] });
    expect(() => buildPart(sd15, 'vaeDecoder', new ExternalWeights(wrong))).toThrow(/checkpoint shape \[512,8,3,3\], model expects \[512,4,3,3\]/);
    const extra = fixtureIndex('float32');
    extra.set('model.diffusion_model.label_emb.0.0.weight', { file: 'x', offset: 0, dtype: 'float32', dims: [1280, 2816] });
    extra.set('model_ema.diffusion_modelout2weight', { file: 'x', offset: 0, dtype: 'float32', dims: [4, 320, 3, 3] });
    const weights = new ExternalWeights(extra);
    for (const part of SD_PARTS) buildPart(sd15, part, weights);
    expect(weights.unused()).toEqual(['model.diffusion_model.label_emb.0.0.weight']);
  });
});

describe('a diffusers folder on the fixture key list', () => {
  /** The fixture's tensors renamed and split the way diffusers saves them. */
  function diffusersFiles(oldVaeNames: boolean) {
    const files = { unet: new Map<string, StoredTensor>(), text_encoder: new Map<string, StoredTensor>(), vae: new Map<string, StoredTensor>() };
    for (const [ldm, t] of fixtureIndex('float16')) {
      if (isNonWeightKey(ldm)) continue;
      let [folder, key] = ldmKeyToDiffusers(ldm, sd15);
      let dims = t.dims;
      if (folder === 'vae' && key.includes('attentions.0.to_')) {
        dims = dims.slice(0, 2); // diffusers keeps these 1x1 convs as linear weights
        if (oldVaeNames) key = key.replace('.to_q.', '.query.').replace('.to_k.', '.key.').replace('.to_v.', '.value.').replace('.to_out.0.', '.proj_attn.');
      }
      files[folder].set(key, { ...t, file: `${folder}/diffusion_pytorch_model.safetensors`, dims });
    }
    return files;
  }

  for (const oldVaeNames of [false, true]) {
    it(`maps every tensor back to the LDM weights${oldVaeNames ? ' (pre-0.14 VAE attention names)' : ''}`, () => {
      const files = diffusersFiles(oldVaeNames);
      files.unet.set('add_embedding.linear_1.weight', { file: 'unet/x', offset: 0, dtype: 'float16', dims: [1280, 2816] });
      const weights = new ExternalWeights(diffusersIndex(sd15, files));
      for (const part of SD_PARTS) buildPart(sd15, part, weights);
      expect(weights.used.size).toBe(1130);
      expect(weights.unused()).toEqual(['unet/add_embedding.linear_1.weight']);
    });
  }
});

import { describe, expect, it } from 'vitest';
import { sd15, tiny } from '../../models/sd/config.ts';
import { parseLoraKey } from '../../models/lora/keys.ts';
import { parseLoraTensors } from '../../models/lora/parse.ts';
import { fitLora } from '../../models/lora/fit.ts';
import { peftConfigs, PEFT_METADATA_KEY } from '../../models/lora/peft-config.ts';
import { toBfloat16, toFloat16, type HostTensor } from '../../models/onnx/index.ts';
import type { Lora } from '../../models/lora/schema.ts';
import { kohyaTensors } from '../../models/lora/kohya.ts';
import { describeLora } from '../../models/lora/info.ts';
import { loraTensors, randomLora, type Naming } from './random-lora.ts';

const info = { name: 'test', source: 'memory', metadata: {} };

function load(tensors: Map<string, HostTensor>, metadata: Record<string, string> = {}, adapterConfig?: unknown): Lora {
  const raw = parseLoraTensors(tensors, 'test', peftConfigs(metadata, adapterConfig));
  return fitLora(raw, { ...info, metadata });
}

/** Modules by name as plain arrays, to compare loads exactly. */
function byName(lora: Lora) {
  return new Map(lora.modules.map((m) => [m.name, { down: [...m.down.data], downDims: m.down.dims, up: [...m.up.data], upDims: m.up.dims, scale: m.alpha / m.down.dims[0]! }]));
}

describe('LoRA key names', () => {
  it('maps every naming of one module onto the same kohya name', () => {
    const kohya = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0';
    for (const key of [
      `${kohya}.lora_down.weight`,
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_A.weight',
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_A.default.weight',
      'base_model.model.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_A.weight',
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora.down.weight',
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight',
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight',
    ]) {
      expect(parseLoraKey(key), key).toMatchObject({ module: kohya, part: 'down' });
    }
    const te = 'lora_te_text_model_encoder_layers_3_self_attn_q_proj';
    for (const key of [
      `${te}.lora_up.weight`,
      'text_encoder.text_model.encoder.layers.3.self_attn.q_proj.lora_B.weight',
      'base_model.model.text_model.encoder.layers.3.self_attn.q_proj.lora_B.weight',
      'text_encoder.text_model.encoder.layers.3.self_attn.q_proj.lora_linear_layer.up.weight',
      'text_encoder.text_model.encoder.layers.3.self_attn.to_q_lora.up.weight',
    ]) {
      expect(parseLoraKey(key), key).toMatchObject({ module: te, part: 'up' });
    }
    expect(parseLoraKey(`${te}.alpha`)).toMatchObject({ module: te, part: 'alpha', format: 'kohya' });
    expect(parseLoraKey('lora_unet_mid_block_resnets_0_conv1.hada_w1_a')).toEqual({ unsupported: 'LyCORIS LoHa' });
    expect(parseLoraKey('unet.mid_block.attentions.0.proj_in.lora_magnitude_vector.weight')).toEqual({ unsupported: 'DoRA' });
    expect(parseLoraKey('bundle_emb.face.string_to_param.*')).toBeUndefined();
  });
});

describe('LoRA formats', () => {
  const lora = randomLora(tiny, { seed: 1, rank: 4 });
  const kohya = load(loraTensors(lora, 'kohya', tiny));

  it('kohya: every graph target of the tiny model, alpha missing = rank', () => {
    expect(kohya).toMatchObject({ base: 'tiny', format: 'kohya', ignoredKeys: [] });
    expect(kohya.modules).toHaveLength(lora.length);
    expect(kohya.modules.every((m) => m.alpha === 4)).toBe(true);
    const proj = kohya.modules.find((m) => m.name.endsWith('attentions_0_proj_in'))!;
    expect([proj.down.dims, proj.up.dims]).toEqual([[4, 32, 1, 1], [32, 4, 1, 1]]);
  });

  it.each<Naming>(['peft', 'peft-model', 'diffusers'])('%s naming gives the kohya tensors', (naming) => {
    const other = load(loraTensors(lora, naming, tiny));
    expect(other.format).toBe(naming === 'peft-model' ? 'peft' : naming);
    expect(byName(other)).toEqual(byName(kohya));
  });

  it.each<Naming>(['kohya', 'peft', 'peft-model', 'diffusers', 'diffusers-attn-procs'])('%s: saved as kohya and read again, the same tensors and scales', (naming) => {
    const scaled = randomLora(tiny, { seed: 4, rank: 4, alpha: 3 });
    const first = load(loraTensors(scaled, naming, tiny), {}, { lora_alpha: 3 });
    const saved = kohyaTensors({ ...first, metadata: { ss_output_name: 'x', [PEFT_METADATA_KEY]: '{}' } });
    expect([...saved.tensors.keys()].every((k) => /^lora_(unet|te)_\w+\.(lora_down\.weight|lora_up\.weight|alpha)$/.test(k))).toBe(true);
    expect(saved.metadata).toEqual({ ss_output_name: 'x', ss_network_module: 'networks.lora', ss_network_dim: '4', ss_network_alpha: String(naming.startsWith('diffusers') ? 4 : 3) });
    const again = load(saved.tensors, saved.metadata);
    expect(again.format).toBe('kohya');
    expect(byName(again)).toEqual(byName(first));
  });

  it('attention-processor files give the kohya tensors of their attention modules', () => {
    const procs = load(loraTensors(lora, 'diffusers-attn-procs', tiny));
    expect(procs.format).toBe('diffusers-attn-procs');
    const expected = byName(kohya);
    const got = byName(procs);
    expect(got.size).toBe(lora.filter((m) => /(to_[qkv]|to_out_0|[qkv]_proj|out_proj)$/.test(m.module.name)).length);
    for (const [name, m] of got) expect(m).toEqual(expected.get(name));
  });

  it('alpha: kohya .alpha, PEFT from lora_adapter_metadata (per model) or adapter_config.json, rslora', () => {
    const scaled = randomLora(tiny, { seed: 1, rank: 4, alpha: 2 });
    const fromKohya = byName(load(loraTensors(scaled, 'kohya', tiny)));
    expect([...fromKohya.values()].every((m) => m.scale === 0.5)).toBe(true);
    const meta = { [PEFT_METADATA_KEY]: JSON.stringify({ 'unet.r': 4, 'unet.lora_alpha': 2, 'text_encoder.r': 4, 'text_encoder.lora_alpha': 2 }) };
    expect(byName(load(loraTensors(scaled, 'peft', tiny), meta))).toEqual(fromKohya);
    expect(byName(load(loraTensors(scaled, 'peft', tiny), {}, { r: 4, lora_alpha: 2 }))).toEqual(fromKohya);
    const rs = load(loraTensors(scaled, 'peft', tiny), {}, { r: 4, lora_alpha: 1, use_rslora: true });
    expect(rs.modules.every((m) => m.alpha / 4 === 0.5)).toBe(true);
    const pattern = load(loraTensors(scaled, 'peft', tiny), {}, { lora_alpha: 4, alpha_pattern: { 'attn1.to_q': 1 } });
    const q = pattern.modules.filter((m) => m.name.endsWith('attn1_to_q'));
    expect(q.length).toBeGreaterThan(0);
    expect(q.every((m) => m.alpha === 1)).toBe(true);
    expect(pattern.modules.filter((m) => !m.name.endsWith('attn1_to_q')).every((m) => m.alpha === 4)).toBe(true);
  });

  it('float16 and bfloat16 files are read as float32', () => {
    for (const [dtype, convert, bits] of [['float16', toFloat16, 10], ['bfloat16', toBfloat16, 7]] as const) {
      const half = new Map([...loraTensors(lora, 'kohya', tiny)].map(([k, t]) => [k, { dtype, dims: t.dims, data: convert(t.data as Float32Array) } as HostTensor]));
      const a = kohya.modules[0]!.down.data;
      const b = load(half).modules.find((m) => m.name === kohya.modules[0]!.name)!.down.data;
      expect(b).not.toBe(a);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), dtype).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -bits);
    }
  });

  it('3x3 conv (LoCon) modules load in conv layout and are kept for baking', () => {
    const locon = randomLora(tiny, { seed: 2, rank: 2, pick: (m) => m.shape.length === 4 && m.shape[2] === 3 });
    expect(locon.length).toBeGreaterThan(0);
    const loaded = load(loraTensors(locon, 'kohya', tiny));
    const conv = loaded.modules.find((m) => m.name === 'lora_unet_down_blocks_0_resnets_0_conv1')!;
    expect([conv.down.dims, conv.up.dims]).toEqual([[2, 32, 3, 3], [32, 2, 1, 1]]);
  });

  it('describes a LoRA: naming, base, modules, ranks, scales, metadata', () => {
    const locon = randomLora(tiny, { seed: 5, rank: 2, alpha: 1, pick: (m) => m.shape.length === 4 && m.shape[2] === 3 });
    const both = new Map([...loraTensors(lora, 'kohya', tiny), ...loraTensors(locon, 'kohya', tiny)]);
    both.set('bundle_emb.face.string_to_param.*', { dtype: 'float32', dims: [1, 32], data: new Float32Array(32) });
    const text = describeLora(load(both, { ss_output_name: 'face', ss_network_dim: '4', ss_seed: '1' }));
    expect(text.split('\n')).toEqual([
      'test: kohya naming, for tiny (memory)',
      `modules: ${48 + locon.length} UNet, 12 text encoder, of which ${locon.length} are 3x3 convolutions (applied when baked)`,
      'rank 2, 4; alpha 1, 4; scale 0.5, 1',
      'ignored keys: bundle_emb.face.string_to_param.*',
      'ss_output_name: face',
      'ss_network_dim: 4',
      'other metadata: ss_seed',
    ]);
  });

  it('an SD1.5 LoRA fits SD1.5, not the tiny model', () => {
    const real = randomLora(sd15, { seed: 3, rank: 1, pick: (m) => m.name.includes('down_blocks_1_attentions_0_transformer_blocks_0_attn2') });
    expect(load(loraTensors(real, 'kohya', sd15)).base).toBe('sd15');
  });
});

describe('LoRA errors name the file', () => {
  const tensors = (entries: [string, number[]][]) => new Map(entries.map(([k, dims]) => [k, { dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) } as HostTensor]));

  it('an SDXL LoRA (kohya names)', () => {
    const xl = tensors([
      ['lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight', [4, 2048]],
      ['lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight', [640, 4]],
      ['lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight', [4, 768]],
      ['lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight', [768, 4]],
    ]);
    expect(() => fitLora(parseLoraTensors(xl, 'xl-style.safetensors'), { ...info, name: 'xl-style.safetensors' }))
      .toThrow(/LoRA "xl-style.safetensors" does not fit Stable Diffusion 1.5: 2 of 2 modules do not match .*names are those of SDXL/);
  });

  it('UNet modules named after LDM keys (lora_unet_input_blocks_...) read as the diffusers-named ones', () => {
    const lora = randomLora(tiny, { seed: 6, rank: 2, pick: (m) => m.target !== undefined && m.name.startsWith('lora_unet') });
    const ldmNamed = new Map([...loraTensors(lora, 'kohya', tiny)].map(([k, t]) => {
      const [name, rest] = [k.slice(0, k.indexOf('.')), k.slice(k.indexOf('.'))];
      const m = lora.find((x) => x.module.name === name)!;
      return [`lora_unet_${m.module.ldm.slice('model.diffusion_model.'.length).replaceAll('.', '_')}${rest}`, t];
    }));
    expect([...ldmNamed.keys()]).toContain('lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q.lora_down.weight');
    expect(byName(load(ldmNamed))).toEqual(byName(load(loraTensors(lora, 'kohya', tiny))));
  });

  it('an SD 2.x LoRA: names match, widths do not; the metadata is quoted', () => {
    const sd2 = tensors([
      ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight', [4, 1024]],
      ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight', [320, 4]],
    ]);
    const metadata = { ss_base_model_version: 'sd_v2' };
    expect(() => fitLora(parseLoraTensors(sd2, 'v2.safetensors'), { ...info, name: 'v2.safetensors', metadata }))
      .toThrow(/"v2.safetensors" does not fit .*attn2_to_k has down \[4,1024\] and up \[320,4\], the model's weight is \[320,768\].*made for "sd_v2"/);
  });

  it('unsupported adapters, half pairs and files without LoRA weights', () => {
    expect(() => parseLoraTensors(tensors([['lora_unet_mid_block_resnets_0_conv1.hada_w1_a', [4, 4]]]), 'loha.safetensors'))
      .toThrow('LoRA "loha.safetensors": LyCORIS LoHa is not supported');
    expect(() => parseLoraTensors(tensors([['lora_unet_mid_block_attentions_0_proj_in.lora_down.weight', [4, 1280]]]), 'half.safetensors'))
      .toThrow('LoRA "half.safetensors": module lora_unet_mid_block_attentions_0_proj_in has no up weight');
    expect(() => parseLoraTensors(tensors([['model.diffusion_model.out.2.weight', [4, 320, 3, 3]]]), 'ckpt.safetensors'))
      .toThrow('LoRA "ckpt.safetensors" holds no LoRA weights');
  });
});

import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import { blockOf, parseBlockWeights, BLOCK_IDS, BLOCK_IDS_17 } from '../../models/lora/blocks.ts';
import { scheduleFactor, ScheduleSchema } from '../../models/lora/schedule.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { parseLoraTensors } from '../../models/lora/parse.ts';
import { fitLora } from '../../models/lora/fit.ts';
import type { Lora } from '../../models/lora/schema.ts';
import { loraTensors, randomLora } from './random-lora.ts';

function tinyLora(seed: number, rank: number, alpha = rank, name = `l${seed}`): Lora {
  const raw = parseLoraTensors(loraTensors(randomLora(tiny, { seed, rank, alpha }), 'kohya', tiny), name);
  return fitLora(raw, { name, source: 'memory', metadata: {} });
}

const Q = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';

describe('block weights', () => {
  it('reads presets, 17 and 26 values and NAME=value pairs', () => {
    expect(parseBlockWeights('')).toEqual(Object.fromEntries(BLOCK_IDS.map((id) => [id, 1])));
    const all = parseBlockWeights('ALL');
    expect(Object.keys(all)).toEqual([...BLOCK_IDS]);
    expect([all.BASE, all.IN01, all.OUT11, all.IN00, all.IN03]).toEqual([1, 1, 1, 0, 0]);
    const ins = parseBlockWeights('INS');
    expect([ins.BASE, ins.IN01, ins.IN02, ins.IN04, ins.IN05, ins.M00, ins.OUT11]).toEqual([1, 1, 1, 1, 0, 0, 0]);
    const outall = parseBlockWeights('outall');
    expect([outall.BASE, outall.IN01, outall.M00, outall.OUT03, outall.OUT11]).toEqual([1, 0, 0, 1, 1]);
    // 17 values fill LBW's attention blocks; the convolution-only blocks get 0, as LBW expands them.
    const v17 = parseBlockWeights(BLOCK_IDS_17.map((_, i) => i / 10).join(','));
    expect([v17.BASE, v17.IN01, v17.IN04, v17.M00, v17.OUT11, v17.IN00, v17.IN03, v17.OUT02]).toEqual([0, 0.1, 0.3, 0.7, 1.6, 0, 0, 0]);
    const v26 = parseBlockWeights(BLOCK_IDS.map((_, i) => i - 13).join(', '));
    expect([v26.BASE, v26.IN00, v26.M00, v26.OUT11]).toEqual([-13, -12, 0, 12]);
    const named = parseBlockWeights('IN01=0, mid=2.5, OUT03=-1');
    expect([named.IN01, named.M00, named.OUT03, named.BASE, named.OUT11]).toEqual([0, 2.5, -1, 1, 1]);
    expect(() => parseBlockWeights('1,1,1')).toThrow(/3 values; give 17 or 26/);
    expect(() => parseBlockWeights('IN99=1')).toThrow(/unknown block "IN99"/);
    expect(() => parseBlockWeights('IN01=x')).toThrow(/"IN01=x" is not a number/);
  });

  it('puts modules in LBW blocks by their checkpoint key', () => {
    expect(blockOf('cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1')).toBe('BASE');
    expect(blockOf('model.diffusion_model.input_blocks.4.1.proj_in')).toBe('IN04');
    expect(blockOf('model.diffusion_model.middle_block.1.transformer_blocks.0.attn1.to_q')).toBe('M00');
    expect(blockOf('model.diffusion_model.output_blocks.11.1.proj_out')).toBe('OUT11');
    expect(blockOf('model.diffusion_model.time_embed.0')).toBeUndefined();
  });
});

describe('schedules', () => {
  const factors = (s: object, steps = 10) => Array.from({ length: steps }, (_, i) => scheduleFactor(ScheduleSchema.parse(s), i, steps));

  it('window, linear and cosine ramps, lists', () => {
    expect(factors({})).toEqual(Array(10).fill(1));
    expect(factors({ start: 0.3, end: 0.6 })).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0]);
    expect(factors({ ramp: 'linear', rampFrom: 0, rampTo: 1 }, 5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(factors({ ramp: 'linear', rampFrom: 1, rampTo: 0, start: 0.5 }, 6)).toEqual([0, 0, 0, 1, 0.5, 0]);
    const cos = factors({ ramp: 'cosine' }, 5);
    expect(cos.map((v) => +v.toFixed(6))).toEqual([0, 0.146447, 0.5, 0.853553, 1]);
    expect(factors({ values: [1, 0.5] }, 4)).toEqual([1, 1, 0.5, 0.5]);
    expect(factors({ values: [2, 0, -1, 3] }, 4)).toEqual([2, 0, -1, 3]);
    expect(() => scheduleFactor(ScheduleSchema.parse({}), 4, 4)).toThrow(/step 4 is not one of 4 steps/);
  });
});

describe('LoRA stack', () => {
  const l1 = tinyLora(1, 4, 2);
  const l2 = tinyLora(2, 2);

  /** The dense update a branch makes: A·B [in, out]. */
  function dense(branch: { rank: number; a: Float32Array; b: Float32Array }, inDim: number, out: number): Float64Array {
    const d = new Float64Array(inDim * out);
    for (let i = 0; i < inDim; i++) for (let j = 0; j < branch.rank; j++) for (let o = 0; o < out; o++) d[i * out + o]! += branch.a[i * branch.rank + j]! * branch.b[j * out + o]!;
    return d;
  }
  /** w·(alpha/rank)·(up@down)ᵀ of one LoRA module, as [in, out]. */
  function expected(l: Lora, name: string, w: number): Float64Array {
    const m = l.modules.find((x) => x.name === name)!;
    const r = m.down.dims[0]!;
    const [out, inDim] = [m.up.dims[0], m.down.dims[1]];
    const d = new Float64Array(inDim! * out!);
    for (let i = 0; i < inDim!; i++) for (let o = 0; o < out!; o++) for (let j = 0; j < r; j++) d[i * out! + o]! += w * (m.alpha / r) * m.up.data[o * r + j]! * m.down.data[j * inDim! + i]!;
    return d;
  }
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  it('concatenates ranks: one branch per module equals the weighted sum of the LoRAs', () => {
    const stack = new LoraStack().add({ lora: l1, weight: 1.5 }).add({ lora: l2, weight: -0.7 });
    const q = stack.unet(0, 1).get(Q)!;
    expect(q.rank).toBe(6);
    const sum = expected(l1, Q, 1.5).map((v, i) => v + expected(l2, Q, -0.7)[i]!);
    expect(maxDiff(dense(q, 32, 32), sum)).toBeLessThan(1e-5);
    const te = stack.text.get('lora_te_text_model_encoder_layers_1_mlp_fc2')!;
    expect(maxDiff(dense(te, 64, 32), expected(l1, 'lora_te_text_model_encoder_layers_1_mlp_fc2', 1.5).map((v, i) => v + expected(l2, 'lora_te_text_model_encoder_layers_1_mlp_fc2', -0.7)[i]!))).toBeLessThan(1e-5);
    expect(stack.bakeOnly()).toEqual([]);
  });

  it('a block at 0 equals removing that block\'s modules from the LoRA', () => {
    const blocked = new LoraStack().add({ lora: l1, weight: 1, blocks: parseBlockWeights('IN01=0') });
    const inBlock = (name: string) => name.startsWith('lora_unet_down_blocks_0_attentions_0_');
    const removed = new LoraStack().add({ lora: { ...l1, modules: l1.modules.filter((m) => !inBlock(m.name)) }, weight: 1 });
    const a = blocked.unet(0, 1);
    const b = removed.unet(0, 1);
    expect([...a.keys()].some(inBlock)).toBe(false);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, br] of a) expect(br).toEqual(b.get(name));
    expect(blocked.text).toEqual(removed.text);
    // BASE scales the text encoder only.
    const base = new LoraStack().add({ lora: l1, weight: 1, blocks: parseBlockWeights('BASE=0.5') });
    expect(base.unet(0, 1).get(Q)).toEqual(new LoraStack().add({ lora: l1, weight: 1 }).unet(0, 1).get(Q));
    const fc2 = 'lora_te_text_model_encoder_layers_1_mlp_fc2';
    expect(maxDiff(dense(base.text.get(fc2)!, 64, 32), expected(l1, fc2, 0.5))).toBeLessThan(1e-6);
  });

  it('applies schedules per step to the UNet branches only, reusing maps while factors repeat', () => {
    const stack = new LoraStack()
      .add({ lora: l1, weight: 1 })
      .add({ lora: l2, weight: 2, schedule: ScheduleSchema.parse({ start: 0.5, ramp: 'linear', rampFrom: 1, rampTo: 0.5 }) });
    const steps = 6;
    const fed = Array.from({ length: steps }, (_, i) => stack.unet(i, steps));
    // Rows 0-3 of B are l1's (unscheduled), rows 4-5 l2's: 0, 0, 0, then 2·(1, 0.75, 0.5).
    const plain = new LoraStack().add({ lora: l1, weight: 1 }).add({ lora: l2, weight: 2 }).unet(0, 1).get(Q)!;
    const l2Scale = [0, 0, 0, 1, 0.75, 0.5];
    fed.forEach((branches, i) => {
      const q = branches.get(Q)!;
      expect(q.a).toBe(fed[0]!.get(Q)!.a);
      expect(q.a).toEqual(plain.a);
      expect(maxDiff(q.b.subarray(0, 4 * 32), plain.b.subarray(0, 4 * 32))).toBe(0);
      expect(maxDiff(q.b.subarray(4 * 32), plain.b.subarray(4 * 32).map((v) => v * l2Scale[i]!))).toBeLessThan(1e-7);
    });
    expect(fed[1]).toBe(fed[0]);
    expect(fed[2]).toBe(fed[1]);
    expect(fed[3]).not.toBe(fed[2]);
    expect(stack.text.get('lora_te_text_model_encoder_layers_0_self_attn_q_proj')!.rank).toBe(6);
  });

  it('refuses LoRAs for different bases in one stack', () => {
    const other = { ...l2, name: 'xl', base: 'sd15' };
    expect(() => new LoraStack().add({ lora: l1, weight: 1 }).add({ lora: other, weight: 1 }))
      .toThrow('LoRA "xl" is for sd15, but "l1" in the same stack is for tiny');
  });
});

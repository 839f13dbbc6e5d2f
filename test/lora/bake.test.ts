// Baking a stack into the tiny checkpoint (a real file in the model store): the baked model without
// LoRA against the unbaked one with the stack, the converted cache, and the errors of the bake node
// and the sampler's base check.
import { tinyOutputs } from './tiny-outputs.ts';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toFloat16, type HostTensor } from '../../models/onnx/index.ts';
import { readSafetensorsHeader, writeSafetensors } from '../../models/safetensors.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { bakeIntoModel } from '../../models/lora/bake-model.ts';
import { parseBlockWeights } from '../../models/lora/blocks.ts';
import { fitLora } from '../../models/lora/fit.ts';
import { parseLoraTensors } from '../../models/lora/parse.ts';
import { ScheduleSchema } from '../../models/lora/schedule.ts';
import type { Lora } from '../../models/lora/schema.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { sd15, tiny, type SdConfig } from '../../models/sd/config.ts';
import type { Latent } from '../../models/sd/latent.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { sample } from '../../models/sd/sample.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { builtinNodes } from '../../nodes/index.ts';
import { defineNode } from '../../runtime/node.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { Executor } from '../../runtime/executor.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';
import { loraTensors, randomLora, type RandomModule } from './random-lora.ts';

function fitted(raw: RandomModule[], config: SdConfig, name: string): Lora {
  return fitLora(parseLoraTensors(loraTensors(raw, 'kohya', config), name), { name, source: 'test', metadata: {} });
}
const loud = (l: RandomModule[]) => l.map((m) => ({ ...m, up: m.up.map((v) => v * 5) }));
const l1 = fitted(loud(randomLora(tiny, { seed: 21, rank: 4, alpha: 2 })), tiny, 'l1');
const l2 = fitted(loud(randomLora(tiny, { seed: 22, rank: 2 })), tiny, 'l2');
// One SD1.5 text-encoder module: enough for the LoRA to fit sd15 only.
const sd15Lora = fitted(randomLora(sd15, { seed: 23, rank: 1, pick: (m) => m.name === 'lora_te_text_model_encoder_layers_0_self_attn_q_proj' }), sd15, 'sd15-lora');

const stack = new LoraStack([{ lora: l1, weight: 0.8, blocks: parseBlockWeights('IN01=0, OUT03=0.5') }, { lora: l2, weight: -1.3 }]);
const sampling = { prompt: 'a portrait photo of a person', negativePrompt: 'blurry', steps: 4, width: 64, height: 64, seed: 3, cfg: 5 };
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
// Sampled latents of the random tiny model reach |x| ~ 75 (CFG 5 over 4 steps), where one float32 step
// is ~8e-6: they are compared relative to their largest value.
const relDiff = (a: Float32Array, b: Float32Array) => maxDiff(a, b) / a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('baking a LoRA stack into a checkpoint', () => {
  it('the baked model without LoRA gives what the model gives with the stack; a second bake is a cache hit', async () => {
    const { models } = tempData();
    const model = await loadSdModel('tiny', models);
    const first = await bakeIntoModel(model, stack, models);
    expect(first.cached).toBe(false);
    expect(first.weights).toBe(stack.modules().length);

    const [plain, stacked, baked] = [await tinyOutputs(model), await tinyOutputs(model, stack), await tinyOutputs(first.model)];
    for (const part of ['text', 'eps'] as const) {
      expect(maxDiff(plain[part], stacked[part]), part).toBeGreaterThan(0.05);
      expect(maxDiff(stacked[part], baked[part]), part).toBeLessThan(1e-4);
    }
    const withStack = await sample(model, sampling, { textLora: stack.text, unetLora: (i, n) => stack.unet(i, n) });
    const fromBaked = await sample(first.model, sampling);
    expect(relDiff(withStack.data, fromBaked.data)).toBeLessThan(1e-5);
    expect(maxDiff(withStack.data, (await sample(model, sampling)).data)).toBeGreaterThan(1e-2);

    // Same model and stack: the same file, not written again; another weight: another bake.
    const file = path.join(models, 'converted', first.key, 'lora-baked.safetensors');
    const written = statSync(file).mtimeMs;
    const again = await bakeIntoModel(model, new LoraStack(stack.entries), models);
    expect([again.cached, again.key]).toEqual([true, first.key]);
    expect(statSync(file).mtimeMs).toBe(written);
    expect(maxDiff(baked.eps, (await tinyOutputs(again.model)).eps)).toBe(0);
    const other = await bakeIntoModel(model, new LoraStack([{ lora: l1, weight: 0.7 }]), models);
    expect(other.cached).toBe(false);
    expect(other.key).not.toBe(first.key);
    expect(readdirSync(path.join(models, 'converted')).filter((d) => d === first.key || d === other.key)).toHaveLength(2);
    for (const m of [first.model, again.model, other.model]) await m.release();
  });

  it('bakes an fp16 checkpoint into fp16 weights, within fp16 rounding of the stack', async () => {
    const { models } = tempData();
    const dir = path.join(models, 'checkpoints');
    mkdirSync(dir, { recursive: true });
    const half = new Map([...randomWeights(tiny, 6)].map(([k, t]): [string, HostTensor] => [k, { dtype: 'float16', dims: t.dims, data: toFloat16(t.data as Float32Array) }]));
    await writeSafetensors(path.join(dir, 'tiny16.safetensors'), half);
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
    const model = await loadSdModel('tiny16.safetensors', models);
    const baked = await bakeIntoModel(model, stack, models);
    const { entries } = await readSafetensorsHeader(path.join(models, 'converted', baked.key, 'lora-baked.safetensors'));
    expect(new Set([...entries.values()].map((e) => e.dtype))).toEqual(new Set(['float16']));
    const [plain, stacked, fromBaked] = [await tinyOutputs(model), await tinyOutputs(model, stack), await tinyOutputs(baked.model)];
    // Measured: the LoRAs move text and eps by 4.0 and 2.6; the fp16 baked weights stay within 3e-3 and 6e-3.
    for (const part of ['text', 'eps'] as const) {
      expect(maxDiff(plain[part], stacked[part]), part).toBeGreaterThan(1);
      expect(maxDiff(stacked[part], fromBaked[part]), part).toBeLessThan(0.01);
    }
    await Promise.all([model.release(), baked.model.release()]);
  });

  it('bakes into a model whose int8 UNet (--sd-memory int8) is quantised from the baked weights', async () => {
    const { models } = tempData();
    const lean = await loadSdModel('tiny', models);
    const stacked = await tinyOutputs(lean, stack);
    process.env.FACECHAIN_SD_MEMORY = 'int8';
    try {
      const model = await loadSdModel('tiny', models);
      const baked = await bakeIntoModel(model, stack, models);
      const fromBaked = await tinyOutputs(baked.model);
      expect(baked.model.precisions().unet).toEqual({ precision: 'fp32', memory: 'int8' });
      // Measured: the stack moves eps by 2.6 (relative 0.7); int8 of the baked weights is within 5.8e-2 of
      // lean with the stack (the loud test LoRAs widen the baked weights' blocks, so their steps).
      const plain = (await tinyOutputs(lean)).eps;
      expect(relDiff(stacked.eps, plain)).toBeGreaterThan(0.3);
      expect(relDiff(stacked.eps, fromBaked.eps)).toBeLessThan(0.1);
      await Promise.all([model.release(), baked.model.release()]);
    } finally {
      delete process.env.FACECHAIN_SD_MEMORY;
      await lean.release();
    }
  });

  it('bakes a model whose weights are inline (built in memory) the same way', async () => {
    const { models } = tempData();
    const model = tinyModel(4);
    const { model: baked, cached } = await bakeIntoModel(model, stack, models);
    expect(cached).toBe(false);
    expect(maxDiff((await tinyOutputs(model, stack)).eps, (await tinyOutputs(baked)).eps)).toBeLessThan(1e-4);
    await Promise.all([model.release(), baked.release()]);
  });

  it('refuses per-step schedules and stacks made for another base, naming the input', async () => {
    const { models } = tempData();
    const model = await loadSdModel('tiny', models);
    const before = readdirSync(path.join(models, 'converted'));
    const ramped = new LoraStack([{ lora: l1, weight: 1, schedule: ScheduleSchema.parse({ ramp: 'linear', rampFrom: 0, rampTo: 1 }) }]);
    await expect(bakeIntoModel(model, ramped, models)).rejects.toThrow(/^loras input: LoRA "l1": its schedule \(ramp=linear \(0 to 1\)\) changes its weight per step/);
    const late = new LoraStack([{ lora: l1, weight: 1, schedule: ScheduleSchema.parse({ start: 0.5 }) }]);
    await expect(bakeIntoModel(model, late, models)).rejects.toThrow(/schedule \(start=0.5\)/);
    await expect(bakeIntoModel(model, new LoraStack([{ lora: sd15Lora, weight: 1 }]), models))
      .rejects.toThrow('loras input: these LoRAs were made for sd15, but the model is tiny ("tiny:tiny")');
    expect(readdirSync(path.join(models, 'converted'))).toEqual(before);
  });
});

// LoRAs without files for the node tests (the file loader has its own tests).
const source = defineNode({
  type: 'test/lora', version: 1, category: 'test', title: 'Test LoRA', description: 'A fixed LoRA for the tiny model or SD1.5',
  inputs: {}, outputs: { lora: { type: 'LORA' } },
  params: z.object({ base: z.enum(['tiny', 'sd15']).default('tiny') }),
  run: (_ctx, _i, p) => ({ lora: p.base === 'tiny' ? l1 : sd15Lora }),
});
const registry = new NodeRegistry([...builtinNodes, source]);
const samplerParams = { ...sampling, scheduler: 'euler' };

describe('Bake LoRA node and the sampler\'s base check', () => {
  it('a baked model samples what the sampler makes with the stack', async () => {
    const ex = new Executor({ registry, data: tempData() });
    const r = await ex.run(graph(
      [
        { id: 'ckpt', type: 'sd/load-checkpoint' },
        { id: 'lora', type: 'test/lora' },
        { id: 'stack', type: 'lora/stack', params: { weight: 0.9, blocks: 'OUTALL' } },
        { id: 'bake', type: 'lora/bake' },
        { id: 'fromBaked', type: 'sd/sampler', params: samplerParams },
        { id: 'withStack', type: 'sd/sampler', params: samplerParams },
      ],
      [
        ['lora', 'lora', 'stack', 'lora'], ['ckpt', 'model', 'bake', 'model'], ['stack', 'stack', 'bake', 'loras'],
        ['bake', 'model', 'fromBaked', 'model'], ['ckpt', 'model', 'withStack', 'model'], ['stack', 'stack', 'withStack', 'loras'],
      ],
    ));
    expect(r.failures).toEqual([]);
    const latent = (id: string) => (r.outputs.get(id)!.latent as Latent).data;
    expect(relDiff(latent('fromBaked'), latent('withStack'))).toBeLessThan(1e-5);
  });

  it('a stack for another base fails the sampler and the bake, naming the input', async () => {
    const ex = new Executor({ registry, data: tempData() });
    const r = await ex.run(graph(
      [
        { id: 'ckpt', type: 'sd/load-checkpoint' },
        { id: 'lora', type: 'test/lora', params: { base: 'sd15' } },
        { id: 'stack', type: 'lora/stack' },
        { id: 'sampler', type: 'sd/sampler', params: samplerParams },
        { id: 'bake', type: 'lora/bake' },
      ],
      [
        ['lora', 'lora', 'stack', 'lora'], ['ckpt', 'model', 'sampler', 'model'], ['stack', 'stack', 'sampler', 'loras'],
        ['ckpt', 'model', 'bake', 'model'], ['stack', 'stack', 'bake', 'loras'],
      ],
    ));
    const message = 'loras input: these LoRAs were made for sd15, but the model is tiny ("tiny:tiny")';
    expect(r.failures).toEqual(expect.arrayContaining([
      expect.objectContaining({ node: 'sampler', message: expect.stringContaining(message) }),
      expect.objectContaining({ node: 'bake', message: expect.stringContaining(message) }),
    ]));
  });
});

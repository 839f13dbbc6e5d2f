// The mixer on the tiny SD model: stacked branches against baked weights, block weights against removed
// modules, schedules against the weights the sampler is fed.
import { tinyOutputs } from './tiny-outputs.ts';
import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { sdModelFromWeights } from '../../models/sd/sd-model.ts';
import { sample } from '../../models/sd/sample.ts';
import type { LoraBranches } from '../../models/sd/lora-feeds.ts';
import type { HostTensor } from '../../models/onnx/index.ts';
import { bakeStack } from '../../models/lora/bake.ts';
import { parseBlockWeights } from '../../models/lora/blocks.ts';
import { fitLora } from '../../models/lora/fit.ts';
import { parseLoraTensors } from '../../models/lora/parse.ts';
import { peftConfigs } from '../../models/lora/peft-config.ts';
import { ScheduleSchema } from '../../models/lora/schedule.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import type { Lora } from '../../models/lora/schema.ts';
import { loraTensors, randomLora, type Naming, type RandomModule } from './random-lora.ts';

const weights = randomWeights(tiny, 5);
const tokenizer = clipTokenizerFromJson(tinyClipTokenizerJson());
const model = sdModelFromWeights('tiny-lora-test', tiny, tokenizer, new TensorWeights(weights));
const params = { prompt: 'a portrait photo of a smiling woman', negativePrompt: 'blurry', steps: 4, width: 64, height: 64, seed: 3, cfg: 5 };

// Larger ups than the format tests use, so a LoRA visibly moves the result.
const loud = (l: RandomModule[]) => l.map((m) => ({ ...m, up: m.up.map((v) => v * 5) }));
const raw1 = loud(randomLora(tiny, { seed: 11, rank: 4, alpha: 2 }));
const raw2 = loud(randomLora(tiny, { seed: 12, rank: 2, pick: (m) => m.target !== undefined || (m.shape.length === 4 && m.shape[2] === 3) }));

function load(raw: RandomModule[], naming: Naming, name: string, adapterConfig?: unknown): Lora {
  return fitLora(parseLoraTensors(loraTensors(raw, naming, tiny), name, peftConfigs({}, adapterConfig)), { name, source: 'memory', metadata: {} });
}
const l1 = load(raw1, 'kohya', 'l1');
// l2 also adapts 3x3 convs (LoCon): they cannot ride the graph branches, so this stack is compared
// with baking only its graph-target modules below.
const l2 = load(raw2, 'kohya', 'l2');
const l2Targets = { ...l2, modules: l2.modules.filter((m) => m.down.dims.length === 2 || m.down.dims[2] === 1) };

async function run(stack?: LoraStack, on = model, record?: (i: number, b: LoraBranches) => void): Promise<Float32Array> {
  const latent = await sample(on, params, stack && {
    textLora: stack.text,
    unetLora: (i, total) => {
      const b = stack.unet(i, total);
      record?.(i, b);
      return b;
    },
  });
  return latent.data;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('LoRA mixer on the tiny model', () => {
  it('two stacked LoRAs (w1, w2) equal the model with w1·L1 + w2·L2 baked in', async () => {
    const stack = new LoraStack([{ lora: l1, weight: 0.8 }, { lora: l2Targets, weight: -1.3 }]);
    const merged = await bakeStack(stack, (key) => weights.get(key)!);
    const baked = sdModelFromWeights('tiny-baked', tiny, tokenizer, new TensorWeights(new Map<string, HostTensor>([...weights, ...merged])));
    const [plain, stacked, fromBaked] = [await tinyOutputs(model), await tinyOutputs(model, stack), await tinyOutputs(baked)];
    for (const part of ['text', 'eps'] as const) {
      expect(maxDiff(plain[part], stacked[part]), part).toBeGreaterThan(0.05);
      expect(maxDiff(stacked[part], fromBaked[part]), part).toBeLessThan(1e-4);
    }
    // Sampled end to end the two agree too (looser: steps and guidance amplify rounding).
    expect(maxDiff(await run(stack), await run(undefined, baked))).toBeLessThan(1e-3);
    // The base weights are left as they were.
    const key = 'model.diffusion_model.input_blocks.1.1.proj_in.weight';
    expect(maxDiff(merged.get(key)!.data as Float32Array, weights.get(key)!.data as Float32Array)).toBeGreaterThan(0);
    await baked.release();
  });

  it('bakes 3x3 conv (LoCon) modules the graph branches cannot take', async () => {
    const stack = new LoraStack([{ lora: l2, weight: 1 }]);
    expect(stack.bakeOnly().length).toBeGreaterThan(0);
    const key = 'model.diffusion_model.input_blocks.1.0.in_layers.2.weight';
    const merged = await bakeStack(stack, (k) => weights.get(k)!);
    const m = l2.modules.find((x) => x.name === 'lora_unet_down_blocks_0_resnets_0_conv1')!;
    // W' - W = (alpha/rank)·up@down over the flattened [out, in·3·3] kernel.
    const [out, r, k] = [m.up.dims[0], m.down.dims[0], m.down.data.length / m.down.dims[0]!];
    const w = weights.get(key)!.data as Float32Array;
    const got = merged.get(key)!.data as Float32Array;
    let worst = 0;
    for (let o = 0; o < out!; o++) for (let c = 0; c < k; c++) {
      let delta = 0;
      for (let j = 0; j < r!; j++) delta += m.up.data[o * r! + j]! * m.down.data[j * k + c]!;
      worst = Math.max(worst, Math.abs(got[o * k + c]! - w[o * k + c]! - (m.alpha / r!) * delta));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('kohya, PEFT and diffusers files of one LoRA give the same images', async () => {
    const kohya = await run(new LoraStack([{ lora: l1, weight: 1 }]));
    for (const naming of ['peft', 'diffusers'] as const) {
      // alpha 2 of rank 4: PEFT reads it from its config; diffusers files carry no alpha, so scale 1.
      const other = load(raw1, naming, naming, { lora_alpha: 2 });
      const weight = naming === 'diffusers' ? 0.5 : 1;
      expect(maxDiff(await run(new LoraStack([{ lora: other, weight }])), kohya), naming).toBe(0);
    }
  });

  it('a block weighted 0 equals removing that block\'s LoRA modules', async () => {
    const inBlock = (name: string) => name.startsWith('lora_unet_up_blocks_1_attentions_0_'); // OUT02
    const blocked = await run(new LoraStack([{ lora: l1, weight: 1, blocks: parseBlockWeights('OUT02=0') }]));
    const removed = await run(new LoraStack([{ lora: { ...l1, modules: l1.modules.filter((m) => !inBlock(m.name)) }, weight: 1 }]));
    const full = await run(new LoraStack([{ lora: l1, weight: 1 }]));
    expect(maxDiff(blocked, removed)).toBe(0);
    expect(maxDiff(blocked, full)).toBeGreaterThan(1e-3);
  });

  it('feeds each step the scheduled weights', async () => {
    // l1 only during the second half; l2 ramps 1 -> 0 over all steps.
    const stack = new LoraStack([
      { lora: l1, weight: 1, schedule: ScheduleSchema.parse({ start: 0.5 }) },
      { lora: l2Targets, weight: 2, schedule: ScheduleSchema.parse({ ramp: 'linear', rampFrom: 1, rampTo: 0 }) },
    ]);
    const fed = new Map<number, LoraBranches>();
    const latents = await run(stack, model, (i, b) => fed.set(i, b));
    expect([...fed.keys()]).toEqual([0, 1, 2, 3]);
    const name = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k';
    const m1 = l1.modules.find((m) => m.name === name)!;
    const m2 = l2Targets.modules.find((m) => m.name === name)!;
    const l1Factor = [0, 0, 1, 1];
    const l2Factor = [1, 2 / 3, 1 / 3, 0].map((f) => 2 * f);
    for (const [i, branches] of fed) {
      const b = branches.get(name)!;
      expect(b.rank).toBe(6);
      const out = m1.up.dims[0]!;
      // Row j of B is the j-th column of the stacked ups, times the entry's factor at step i.
      for (let j = 0; j < 6; j++) {
        const [m, jj, f] = j < 4 ? [m1, j, l1Factor[i]! * (m1.alpha / 4)] : [m2, j - 4, l2Factor[i]! * (m2.alpha / 2)];
        const r = m.down.dims[0]!;
        for (let o = 0; o < out; o++) expect(b.b[j * out + o]).toBeCloseTo(f * m.up.data[o * r + jj]!, 6);
      }
    }
    // The schedule changes the result relative to constant weights.
    expect(maxDiff(latents, await run(new LoraStack([{ lora: l1, weight: 1 }, { lora: l2Targets, weight: 2 }])))).toBeGreaterThan(1e-3);
  });
});

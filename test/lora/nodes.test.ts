import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { Executor } from '../../runtime/executor.ts';
import { builtinNodes } from '../../nodes/index.ts';
import sampler from '../../nodes/sd/sampler.ts';
import { tiny } from '../../models/sd/config.ts';
import { fitLora } from '../../models/lora/fit.ts';
import { parseLoraTensors } from '../../models/lora/parse.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { parseBlockWeights } from '../../models/lora/blocks.ts';
import { ScheduleSchema } from '../../models/lora/schedule.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { sample } from '../../models/sd/sample.ts';
import type { Latent } from '../../models/sd/latent.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';
import { loraTensors, randomLora } from './random-lora.ts';
import { toImage } from '../../runtime/image-io.ts';
import type { RunEvent } from '../../protocol/index.ts';
import { testFaceModels } from '../fixtures/faces/photos.ts';
import { singleFace } from '../preprocess/photos.ts';

function tinyLora(seed: number) {
  const raw = randomLora(tiny, { seed, rank: 4 }).map((m) => ({ ...m, up: m.up.map((v) => v * 5) }));
  return fitLora(parseLoraTensors(loraTensors(raw, 'kohya', tiny), `lora${seed}`), { name: `lora${seed}`, source: 'test', metadata: {} });
}

// A LoRA source without files: the file loader has its own tests.
const source = defineNode({
  type: 'test/lora', version: 1, category: 'test', title: 'Random LoRA', description: 'A random tiny-model LoRA',
  inputs: {}, outputs: { lora: { type: 'LORA' } },
  params: z.object({ seed: z.number().int().default(1) }),
  run: (_ctx, _i, p) => ({ lora: tinyLora(p.seed) }),
});

// A LoCon: attention modules and 3x3 convolutions, which the sampler's graphs have no branch for.
const locon = defineNode({
  type: 'test/locon', version: 1, category: 'test', title: 'Random LoCon', description: 'A random tiny-model LoRA with 3x3 conv modules',
  inputs: {}, outputs: { lora: { type: 'LORA' } },
  params: z.object({}),
  run: () => {
    const raw = randomLora(tiny, { seed: 9, rank: 2, pick: (m) => m.target !== undefined || (m.shape.length === 4 && m.shape[2] === 3) });
    return { lora: fitLora(parseLoraTensors(loraTensors(raw, 'kohya', tiny), 'locon'), { name: 'locon', source: 'test', metadata: {} }) };
  },
});
const template = defineNode({
  type: 'test/face', version: 1, category: 'test', title: 'Face photo', description: 'A demo-photo face crop',
  inputs: {}, outputs: { image: { type: 'IMAGE' } },
  params: z.object({}),
  run: async () => ({ image: await toImage((await singleFace(1, 0)).resize(256, 256, { fit: 'cover', position: 'top' })) }),
});

const registry = new NodeRegistry([...builtinNodes, source, locon, template]);
const sampling = { prompt: 'a photo of a person', steps: 4, width: 64, height: 64, seed: 2, cfg: 4 };

describe('LoRA nodes', () => {
  it('face + style mix and a scheduled stack reach the sampler as the stack they describe', async () => {
    const ex = new Executor({ registry, data: tempData() });
    const r = await ex.run(graph(
      [
        { id: 'ckpt', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } },
        { id: 'face', type: 'test/lora', params: { seed: 1 } },
        { id: 'style', type: 'test/lora', params: { seed: 2 } },
        { id: 'extra', type: 'test/lora', params: { seed: 3 } },
        { id: 'stack', type: 'lora/stack', params: { weight: -0.5, blocks: 'OUT03=0', start: 0.5, ramp: 'cosine' } },
        { id: 'mix', type: 'lora/mix', params: { styleBlocks: 'OUTALL' } },
        { id: 'plain', type: 'sd/sampler', params: sampling },
        { id: 'mixed', type: 'sd/sampler', params: sampling },
      ],
      [
        ['extra', 'lora', 'stack', 'lora'], ['stack', 'stack', 'mix', 'stack'],
        ['face', 'lora', 'mix', 'face'], ['style', 'lora', 'mix', 'style'],
        ['ckpt', 'model', 'plain', 'model'], ['ckpt', 'model', 'mixed', 'model'], ['mix', 'stack', 'mixed', 'loras'],
      ],
    ));
    expect(r.failures).toEqual([]);
    const stack = r.outputs.get('mix')!.stack as LoraStack;
    expect(stack.entries.map((e) => [e.lora.name, e.weight])).toEqual([['lora3', -0.5], ['lora1', 1], ['lora2', 0.25]]);
    expect(stack.entries[0]!.schedule).toMatchObject({ start: 0.5, ramp: 'cosine' });

    const expected = new LoraStack([
      { lora: tinyLora(3), weight: -0.5, blocks: parseBlockWeights('OUT03=0'), schedule: ScheduleSchema.parse({ start: 0.5, ramp: 'cosine' }) },
      { lora: tinyLora(1), weight: 1 },
      { lora: tinyLora(2), weight: 0.25, blocks: parseBlockWeights('OUTALL') },
    ]);
    const model = tinyModel(0);
    // The sampler node's defaults (negative prompt, scheduler) apply to both.
    const direct = await sample(model, sampler.params.parse(sampling) as Parameters<typeof sample>[1], { textLora: expected.text, unetLora: (i, n) => expected.unet(i, n) });
    const mixed = r.outputs.get('mixed')!.latent as Latent;
    const plain = r.outputs.get('plain')!.latent as Latent;
    expect(Buffer.from(mixed.data.buffer).equals(Buffer.from(direct.data.buffer))).toBe(true);
    expect(Buffer.from(mixed.data.buffer).equals(Buffer.from(plain.data.buffer))).toBe(false);
    await model.release();
  });

  it('every node that takes the stack reports LoCon modules it cannot apply while sampling', { timeout: 120_000 }, async () => {
    const ex = new Executor({ registry, data: tempData(), services: { faceModels: testFaceModels() } });
    const small = { ...sampling, steps: 2 };
    const events: RunEvent[] = [];
    await ex.run(graph(
      [
        { id: 'ckpt', type: 'sd/load-checkpoint', params: { checkpoint: 'tiny' } },
        { id: 'locon', type: 'test/locon' },
        { id: 'plain', type: 'test/lora' },
        { id: 'face', type: 'test/face' },
        { id: 'mix', type: 'lora/mix' },
        { id: 'stack', type: 'lora/stack' },
        { id: 'sampler', type: 'sd/sampler', params: small },
        { id: 'adaptive', type: 'lora/adaptive-weights', params: { ...small, faceCount: 1, styleCount: 1, rounds: 0 } },
        { id: 'clean', type: 'sd/sampler', params: small },
      ],
      [
        ['locon', 'lora', 'mix', 'face'], ['mix', 'stack', 'sampler', 'loras'], ['ckpt', 'model', 'sampler', 'model'],
        ['locon', 'lora', 'stack', 'lora'],
        ['ckpt', 'model', 'adaptive', 'model'], ['locon', 'lora', 'adaptive', 'face'], ['plain', 'lora', 'adaptive', 'style'], ['face', 'image', 'adaptive', 'template'],
        ['ckpt', 'model', 'clean', 'model'],
      ],
    ), { onEvent: (e) => events.push(e) });
    const warned = (node: string) =>
      events.filter((e) => e.type === 'log' && e.level === 'warn' && e.nodeId === node).map((e) => (e as { message: string }).message);
    for (const node of ['mix', 'stack', 'sampler', 'adaptive']) {
      expect(warned(node).join('\n'), node).toMatch(/\d+ modules \(3x3 convolutions, LoCon; e\.g\. lora_unet_\w+\) have no sampler branch and are left out while sampling; only "Bake LoRA" applies them/);
    }
    expect(warned('clean')).toEqual([]);
  });

  it('a bad block spec is a validation problem naming the param', async () => {
    const ex = new Executor({ registry, data: tempData() });
    const r = await ex.run(graph(
      [{ id: 'l', type: 'test/lora' }, { id: 's', type: 'lora/stack', params: { blocks: '1,2,3' } }],
      [['l', 'lora', 's', 'lora']],
    ));
    expect(r.problems).toContainEqual(expect.objectContaining({ node: 's', field: 'params.blocks', message: expect.stringMatching(/3 values; give 17 or 26/) }));
  });
});

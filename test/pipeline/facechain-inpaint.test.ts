// The shipped inpaint graph on a fresh data folder (demo model, bundled portraits): the template's
// face region is repainted and every pixel outside the sampler's mask is the template's own; and the
// face detail node through the executor with two people, each with a LoRA file of their own.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demo } from '../../models/sd/config.ts';
import { blurMask, maskAt } from '../../models/sd/inpaint.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { builtinNodes } from '../../nodes/index.ts';
import { startImage } from '../../nodes/sd/sampling-params.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import { Executor } from '../../runtime/executor.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { ensureSampleInputs } from '../../runtime/sample-inputs.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import { tempDir } from '../helpers/temp.ts';
import { graph } from '../helpers/test-nodes.ts';
import { loraTensors, randomLora } from '../lora/random-lora.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const registry = new NodeRegistry(builtinNodes);

async function freshData() {
  const data = openDataFolders(path.join(tempDir('inpaint'), 'data'));
  await ensureSampleInputs(data);
  return data;
}

describe('graphs/facechain-inpaint.json', { timeout: 600_000 }, () => {
  it('runs on a fresh data folder: the template keeps every pixel outside the face mask, the face is repainted', async () => {
    const doc = JSON.parse(readFileSync(path.join(ROOT, 'graphs/facechain-inpaint.json'), 'utf8'));
    const r = await new Executor({ registry, data: await freshData() }).run(doc);
    expect(r.failures).toEqual([]);
    const template = r.outputs.get('template')!.image as Image;
    const mask = r.outputs.get('mask')!.mask as Mask;
    expect([mask.width, mask.height, mask.channels]).toEqual([template.width, template.height, 1]);
    const sampler = doc.nodes.find((n: { id: string }) => n.id === 'sampler').params;
    const start = await startImage(template, sampler.width, sampler.height);
    const kept = await blurMask(await maskAt(mask, sampler.width, sampler.height), sampler.maskBlur);
    const images = r.outputs.get('decode')!.images as Image[];
    expect(images).toHaveLength(sampler.batch);
    for (const img of images) {
      let outside = 0;
      let inside = 0;
      let changed = 0;
      for (let i = 0; i < kept.data.length; i++) {
        const diff = Math.abs(img.data[i * 3]! - start.data[i * 3]!) + Math.abs(img.data[i * 3 + 1]! - start.data[i * 3 + 1]!) + Math.abs(img.data[i * 3 + 2]! - start.data[i * 3 + 2]!);
        if (kept.data[i] === 0) outside += diff;
        else if (kept.data[i] === 255) {
          inside++;
          if (diff > 30) changed++;
        }
      }
      expect(outside).toBe(0);
      expect(changed / inside).toBeGreaterThan(0.3);
    }
    expect((r.outputs.get('rank')!.images as Image[]).length).toBe(2);
  });
});

describe('face detail node', { timeout: 600_000 }, () => {
  it('repaints two people of a group photo, each with the LoRA file wired to their input', async () => {
    const data = await freshData();
    mkdirSync(path.join(data.models, 'loras'), { recursive: true });
    for (const [file, seed] of [['anna.safetensors', 1], ['bea.safetensors', 2]] as const) {
      await writeSafetensors(path.join(data.models, 'loras', file), loraTensors(randomLora(demo, { seed, rank: 4 }), 'kohya', demo));
    }
    const logs: string[] = [];
    const doc = graph(
      [
        { id: 'checkpoint', type: 'sd/load-checkpoint', params: { checkpoint: 'demo' } },
        { id: 'photo', type: 'image/load-images', params: { path: 'samples/sample3.jpg' } },
        { id: 'small', type: 'image/resize', params: { width: 960 } },
        { id: 'anna', type: 'lora/load', params: { file: 'anna.safetensors' } },
        { id: 'bea', type: 'lora/load', params: { file: 'bea.safetensors' } },
        { id: 'annaStack', type: 'lora/mix', params: {} },
        { id: 'beaStack', type: 'lora/mix', params: {} },
        {
          id: 'detail', type: 'face/detail',
          params: {
            size: 256, steps: 6, denoise: 0.4, scheduler: 'ddim', faces: 'assigned',
            person1: 'index', person1Index: 0, person1Prompt: 'anna', person2: 'index', person2Index: 2, person2Prompt: 'bea',
          },
        },
      ],
      [
        ['photo', 'images', 'small', 'images'],
        ['anna', 'lora', 'annaStack', 'face'],
        ['bea', 'lora', 'beaStack', 'face'],
        ['checkpoint', 'model', 'detail', 'model'],
        ['small', 'images', 'detail', 'images'],
        ['annaStack', 'stack', 'detail', 'loras1'],
        ['beaStack', 'stack', 'detail', 'loras2'],
      ],
    );
    const executor = new Executor({ registry, data });
    const r = await executor.run(doc, { onEvent: (e) => { if (e.type === 'log') logs.push(e.message); } });
    expect(r.failures).toEqual([]);
    const lines = logs.filter((l) => l.includes('repainted with'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/face 0 .* person 1's LoRAs/);
    expect(lines[1]).toMatch(/face 2 .* person 2's LoRAs/);
  });
});

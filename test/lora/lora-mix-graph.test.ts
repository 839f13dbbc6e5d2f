// The shipped lora-mix graph on the tiny model, with two random tiny-model LoRAs written where its
// Load LoRA nodes look: through the CLI (an image of the requested size), and through the executor
// with the sampler recording the branches it is fed each step (the style LoRA's ramp).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import type { LoraBranches } from '../../models/sd/lora-feeds.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { builtinNodes } from '../../nodes/index.ts';
import sampler from '../../nodes/sd/sampler.ts';
import { openDataFolders } from '../../runtime/data-folder.ts';
import { Executor } from '../../runtime/executor.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { randomLora, type RandomModule, writeTinyLoras } from './random-lora.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const graphFile = path.join(ROOT, 'graphs/lora-mix.json');
const small = { width: 128, height: 96, steps: 5 };

// rank 4 and 2, alpha = rank: scale 1, so the fed B rows are weight x block x ramp x up.
const face = randomLora(tiny, { seed: 31, rank: 4 });
const style = randomLora(tiny, { seed: 32, rank: 2 });

/** The graph ships on the demo model and its demo style: here the tiny model and the test's LoRAs. */
const onTiny = { 'checkpoint.checkpoint': 'tiny', 'styleLora.file': 'my-style-lora.safetensors' };

/** A data folder with the two LoRAs under the names the graph's Load LoRA nodes use. */
async function dataWithLoras(): Promise<string> {
  const root = path.join(tempDir('lora-mix'), 'data');
  await writeTinyLoras(path.join(root, 'models'), { 'my-face-lora.safetensors': face, 'my-style-lora.safetensors': style });
  return root;
}

describe('shipped lora-mix graph on the tiny model', () => {
  it('runs through the CLI with the LoRA files in data/models/loras and writes an image of the requested size', async () => {
    const data = await dataWithLoras();
    const out = path.join(data, '..', 'out');
    const sets = [...Object.entries(small).map(([k, v]) => `sampler.${k}=${v}`), ...Object.entries(onTiny).map(([k, v]) => `${k}=${v}`)].flatMap((s) => ['--set', s]);
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), 'run', graphFile, '--data', data, '--out', out, ...sets, '--quiet']);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    const meta = await sharp(path.join(out, files[0]!)).metadata();
    expect([meta.width, meta.height]).toEqual([128, 96]);
  });

  it('feeds the sampler the face LoRA at its block weights and the style LoRA along its ramp', async () => {
    const fed: { step: number; total: number; branches: LoraBranches }[] = [];
    class Recording extends LoraStack {
      override unet(step: number, total: number): LoraBranches {
        const branches = super.unet(step, total);
        fed.push({ step, total, branches });
        return branches;
      }
    }
    const recording: typeof sampler = { ...sampler, run: (ctx, inputs, p) => sampler.run(ctx, { ...inputs, loras: (inputs.loras && new Recording((inputs.loras as LoraStack).entries))! }, p) };
    const registry = new NodeRegistry(builtinNodes.map((n) => (n.type === sampler.type ? recording : n)));
    const doc = JSON.parse(readFileSync(graphFile, 'utf8'));
    Object.assign(doc.nodes.find((n: { id: string }) => n.id === 'sampler').params, small);
    for (const [k, v] of Object.entries(onTiny)) {
      const [id, param] = k.split('.');
      doc.nodes.find((n: { id: string }) => n.id === id).params[param!] = v;
    }
    const r = await new Executor({ registry, data: openDataFolders(await dataWithLoras()) }).run(doc);
    expect(r.failures).toEqual([]);

    expect(fed.map((f) => [f.step, f.total])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 5]));
    // IN01 (weight 1 in the graph's block vector) holds this module.
    const name = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k';
    const [f, s] = [face, style].map((l) => l.find((m) => m.module.name === name)!);
    const ramp = [1, 0.8, 0.6, 0.4, 0.2];
    for (const { step, branches } of fed) {
      const b = branches.get(name)!;
      expect(b.rank).toBe(6);
      const out = f!.module.shape[0]!;
      const row = (m: RandomModule, j: number) => Array.from({ length: out }, (_, o) => m.up[o * m.rank + j]!);
      for (let j = 0; j < 6; j++) {
        const expected = j < 4 ? row(f!, j).map((v) => 0.9 * v) : row(s!, j - 4).map((v) => 0.6 * ramp[step]! * v);
        const got = Array.from(b.b.subarray(j * out, (j + 1) * out));
        got.forEach((v, o) => expect(v).toBeCloseTo(expected[o]!, 6));
      }
    }
    // The 17-value vector leaves out OUT02, which in the tiny model holds attention (output_blocks.2 =
    // up_blocks.1.attentions.0): weighted 0 as LBW expands it, the face is dropped there; OUT03 keeps it.
    const block = (a: number) => fed[0]!.branches.get(`lora_unet_up_blocks_1_attentions_${a}_transformer_blocks_0_attn1_to_q`)?.rank;
    expect([block(0), block(1)]).toEqual([2, 6]);
  });
});

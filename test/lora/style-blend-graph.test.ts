// The shipped style-blend graph on the tiny model, with two random tiny-model style LoRAs where its Load
// LoRA nodes look: through the CLI, with the sampler's stack logged as both LoRAs.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import { randomLora, writeTinyLoras } from './random-lora.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('shipped style-blend graph on the tiny model', () => {
  it('samples with both style LoRAs and saves the batch', async () => {
    const data = path.join(tempDir('style-blend'), 'data');
    await writeTinyLoras(path.join(data, 'models'), {
      'my-style-lora.safetensors': randomLora(tiny, { seed: 11, rank: 4 }),
      'my-second-style-lora.safetensors': randomLora(tiny, { seed: 12, rank: 2 }),
    });
    const out = path.join(data, '..', 'out');
    const sets = ['sampler.width=128', 'sampler.height=96', 'sampler.steps=6', 'checkpoint.checkpoint=tiny', 'styleA.file=my-style-lora.safetensors', 'styleB.file=my-second-style-lora.safetensors'].flatMap((s) => ['--set', s]);
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), 'run', 'graphs/style-blend.json', '--data', data, '--out', out, ...sets], { cwd: ROOT }).catch((e) => e);
    expect(r.stderr).toMatch(/finished in/);
    expect(r.stderr).toMatch(/styleA info: my-style-lora\.safetensors/);
    expect(r.stderr).toMatch(/styleB info: my-second-style-lora\.safetensors/);
    const saved = readdirSync(out);
    expect(saved).toHaveLength(2);
    for (const f of saved) expect(await sharp(path.join(out, f)).metadata()).toMatchObject({ width: 128, height: 96 });
  });
});

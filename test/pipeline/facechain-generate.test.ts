// The shipped generate-only graph on the tiny model: a face LoRA and a style LoRA from the model store,
// a template face from data/input, through the CLI.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tiny } from '../../models/sd/config.ts';
import { randomLora, writeTinyLoras } from '../lora/random-lora.ts';
import { singleFace } from '../preprocess/photos.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

// Whole graphs on 2 CI cores: more time than the default minute.
describe('graphs/facechain-generate.json', { timeout: 180_000 }, () => {
  it('mixes the face and style LoRAs, fuses the template face into each result and saves the top two', async () => {
    const data = path.join(tempDir('generate'), 'data');
    await writeTinyLoras(path.join(data, 'models'), {
      'my-face-lora.safetensors': randomLora(tiny, { seed: 5, rank: 4 }),
      'my-style-lora.safetensors': randomLora(tiny, { seed: 6, rank: 2 }),
    });
    mkdirSync(path.join(data, 'input'), { recursive: true });
    await (await singleFace(6, 1)).png().toFile(path.join(data, 'input', 'my-face.png'));

    const out = path.join(data, '..', 'out');
    // The graph ships on the demo model, its demo style and a bundled portrait: here the tiny model and the test's files,
    // sampled as before the graph moved to Euler a (at seed 5 with it, the fuser finds a false face in this model's noise).
    const sets = ['sampler.width=128', 'sampler.height=128', 'sampler.steps=4', 'checkpoint.checkpoint=tiny', 'styleLora.file=my-style-lora.safetensors', 'template.path=my-face.png', 'sampler.scheduler=dpmpp_2m_karras', 'sampler.seed=42'].flatMap((s) => ['--set', s]);
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), 'run', 'graphs/facechain-generate.json', '--data', data, '--out', out, ...sets], { cwd: ROOT }).catch((e) => e);
    expect(r.stderr).toMatch(/finished in/);
    // Both LoRAs went into the sampler's stack, and every result went through the fuser and the ranker.
    expect(r.stderr).toMatch(/mix\s+done/);
    expect(r.stderr.match(/fuse warn: image \d: no face found/g)).toHaveLength(4);
    const saved = readdirSync(out).filter((f) => f.startsWith('portrait'));
    expect(saved).toHaveLength(2);
    for (const f of saved) expect(await sharp(path.join(out, f)).metadata()).toMatchObject({ width: 128, height: 128 });
  });
});

// The shipped demo model (models/sd/demo): its weights load through the loaders a user's checkpoint
// goes through, and text-to-image at its native size draws faces that the face detector finds,
// the same for a seed every time. Sampling only: the weights are trained by `npm run demo:train`.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../../models/safetensors.ts';
import { demo } from '../../models/sd/config.ts';
import { DEMO_WEIGHTS, loadSdModel } from '../../models/sd/load-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { testFaceModels } from '../fixtures/faces/photos.ts';
import { tempData } from '../helpers/test-nodes.ts';

const data = tempData();
afterAll(() => rmSync(data.root, { recursive: true, force: true }));

/**
 * The README's measurement: 20 DDIM steps at 256x256, guidance 7, seeds 0..SEEDS-1: the detector finds a
 * face for seeds 0, 2, 4, 6 and 7 (5 of 8; 8 of 16 over seeds 0-15, see models/sd/demo/README.md); the
 * test asks for one fewer, as other CPUs' kernels may round differently.
 */
const SEEDS = 8;
const MIN_FACES = 4;
const params = { prompt: 'a photo of a woman', steps: 20, scheduler: 'ddim', cfg: 7, width: 256, height: 256 } as const;

describe('demo model', () => {
  it('ships as an fp16 LDM safetensors file of the demo config, a few MB', async () => {
    const header = await readSafetensorsHeader(DEMO_WEIGHTS);
    const entries = [...header.entries.values()];
    expect(entries.every((e) => e.dtype === 'float16')).toBe(true);
    expect(header.entries.get('model.diffusion_model.input_blocks.0.0.weight')?.dims).toEqual([demo.unet.channels[0], 4, 3, 3]);
    expect(header.entries.has('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight')).toBe(true);
    expect(header.entries.has('first_stage_model.decoder.conv_out.weight')).toBe(true);
    const bytes = entries.reduce((a, e) => a + e.end - e.begin, 0);
    expect(bytes).toBeLessThan(6e6);
    const training = JSON.parse(header.metadata.training!);
    expect(training.resolution).toBe(256);
    expect(training.phases.map((p: { seed: number; steps: number; loss: number }) => [p.seed, p.steps, typeof p.loss])).toEqual([[0, 1000, 'number'], [1, 1500, 'number'], [2, 1500, 'number']]);
  });

  it('loads as "demo" and as a user checkpoint file, both giving the same latents', async () => {
    const builtin = await loadSdModel('demo', data.models);
    expect(builtin.config.name).toBe('demo');
    expect(builtin.checkpointFile && path.basename(builtin.checkpointFile)).toBe('demo.safetensors');

    const dir = path.join(data.models, 'checkpoints');
    mkdirSync(dir, { recursive: true });
    copyFileSync(DEMO_WEIGHTS, path.join(dir, 'my-demo.safetensors'));
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
    const user = await loadSdModel('my-demo.safetensors', data.models);
    expect(user.config.name).toBe('demo');
    const quick = { ...params, steps: 3, seed: 5 };
    expect((await sample(user, quick)).data).toEqual((await sample(builtin, quick)).data);
  });

  it(`text-to-image finds a face in at least ${MIN_FACES} of ${SEEDS} seeds, the same image for a seed each time`, async () => {
    const model = await loadSdModel('demo', data.models);
    const faces = testFaceModels();
    const found: number[] = [];
    for (let seed = 0; seed < SEEDS; seed++) {
      const [image] = await decodeLatents(model, await sample(model, { ...params, seed }));
      expect([image!.width, image!.height]).toEqual([256, 256]);
      found.push((await faces.detect(image!)).length);
    }
    expect(found.filter((n) => n > 0).length, `faces per seed: ${found}`).toBeGreaterThanOrEqual(MIN_FACES);

    const again = await decodeLatents(model, await sample(model, { ...params, seed: 0 }));
    const first = await decodeLatents(model, await sample(model, { ...params, seed: 0 }));
    expect(Buffer.from(again[0]!.data).equals(Buffer.from(first[0]!.data))).toBe(true);
  }, 300_000);
});

import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { toFloat16, type HostTensor } from '../../models/onnx/index.ts';
import { writeSafetensors } from '../../models/safetensors.ts';
import { buildPart } from '../../models/sd/build.ts';
import { tiny } from '../../models/sd/config.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { sample } from '../../models/sd/sample.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { tempData } from '../helpers/test-nodes.ts';

// Counts graph builds (randomWeights builds too, to learn the shapes: tests clear the count after it);
// the builds themselves are the real ones.
vi.mock('../../models/sd/build.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../models/sd/build.ts')>();
  return { ...original, buildPart: vi.fn(original.buildPart) };
});

const params = { prompt: 'a portrait of a woman', negativePrompt: '', steps: 2, width: 64, height: 64, seed: 7, cfg: 5 };

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}

/** The converted folders holding built graphs, with each file's mtime. */
function graphFolders(models: string): Record<string, Record<string, number>> {
  const root = path.join(models, 'converted');
  const out: Record<string, Record<string, number>> = {};
  for (const key of readdirSync(root)) {
    const files = readdirSync(path.join(root, key));
    if (files.includes('graphs.json')) out[key] = Object.fromEntries(files.map((f) => [f, statSync(path.join(root, key, f)).mtimeMs]));
  }
  return out;
}

function checkpointFolder(models: string): string {
  const dir = path.join(models, 'checkpoints');
  mkdirSync(path.join(dir, 'tokenizer'), { recursive: true });
  writeFileSync(path.join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  return dir;
}

describe('cached SD graphs', () => {

  it('builds a checkpoint\'s graphs once into converted/<key>/ and loads them from there after', async () => {
    const { models } = tempData();
    const dir = checkpointFolder(models);
    await writeSafetensors(path.join(dir, 'mine.safetensors'), randomWeights(tiny, 3));
    const retrainedWeights = randomWeights(tiny, 4);
    const inMemory = tinyModel(3);
    const reference3 = (await sample(inMemory, params)).data;
    const reference4 = (await sample(tinyModel(4), params)).data;
    vi.mocked(buildPart).mockClear();

    const first = await loadSdModel('mine.safetensors', models);
    expect(vi.mocked(buildPart)).toHaveBeenCalledTimes(4);
    const folders = graphFolders(models);
    const [key] = Object.keys(folders);
    expect(Object.keys(folders[key!]!).sort()).toEqual(['graphs.json', 'text.onnx', 'unet.onnx', 'vaeDecoder.onnx', 'vaeEncoder.onnx']);
    const a = (await sample(first, params)).data;
    expect(maxDiff(a, reference3)).toBeLessThan(1e-4);
    await first.release();

    // A second load (as in a new process: a new model, new sessions) builds nothing and gives the same result.
    const second = await loadSdModel('mine.safetensors', models);
    expect(vi.mocked(buildPart)).toHaveBeenCalledTimes(4);
    expect(graphFolders(models)).toEqual(folders);
    expect(second.loraTargets.unet).toHaveLength(48);
    expect(second.loraTargets).toEqual(inMemory.loraTargets);
    expect((await sample(second, params)).data).toEqual(a);
    await second.release();

    // New weights in the same layout: same graphs (they hold no weights), results from the new weights.
    await writeSafetensors(path.join(dir, 'mine.safetensors'), retrainedWeights);
    const retrained = await loadSdModel('mine.safetensors', models);
    expect(vi.mocked(buildPart)).toHaveBeenCalledTimes(4);
    const b = (await sample(retrained, params)).data;
    expect(maxDiff(b, a)).toBeGreaterThan(0.01);
    expect(maxDiff(b, reference4)).toBeLessThan(1e-4);
    await retrained.release();
  });

  it('builds again for another layout (fp16, another file name) or a new builder version', async () => {
    const { models } = tempData();
    const dir = checkpointFolder(models);
    const weights = randomWeights(tiny, 3);
    await writeSafetensors(path.join(dir, 'a.safetensors'), weights);
    await writeSafetensors(path.join(dir, 'b.safetensors'), weights);
    const half = new Map<string, HostTensor>([...weights].map(([k, t]) => [k, { dtype: 'float16', dims: t.dims, data: toFloat16(t.data as Float32Array) }]));
    await writeSafetensors(path.join(dir, 'a16.safetensors'), half);
    vi.mocked(buildPart).mockClear();

    await loadSdModel('a.safetensors', models);
    await loadSdModel('a.safetensors', models);
    expect(Object.keys(graphFolders(models))).toHaveLength(1);
    // The graphs point into the file by name, so a copy under another name has its own.
    await loadSdModel('b.safetensors', models);
    await loadSdModel('a16.safetensors', models);
    expect(Object.keys(graphFolders(models))).toHaveLength(3);
    expect(vi.mocked(buildPart)).toHaveBeenCalledTimes(12);

    vi.resetModules();
    vi.doMock('../../models/sd/build.ts', async (importOriginal) => {
      const original = await importOriginal<typeof import('../../models/sd/build.ts')>();
      return { ...original, GRAPH_BUILDER_VERSION: original.GRAPH_BUILDER_VERSION + 1 };
    });
    const next = await import('../../models/sd/load-model.ts');
    await next.loadSdModel('a.safetensors', models);
    expect(Object.keys(graphFolders(models))).toHaveLength(4);
    vi.doUnmock('../../models/sd/build.ts');
  });

  it('keeps a checkpoint that does not fit out of the cache', async () => {
    const { models } = tempData();
    const dir = checkpointFolder(models);
    const weights = randomWeights(tiny, 3);
    weights.set('model.diffusion_model.extra.weight', { dtype: 'float32', dims: [2], data: new Float32Array(2) });
    await writeSafetensors(path.join(dir, 'extra.safetensors'), weights);
    await expect(loadSdModel('extra.safetensors', models)).rejects.toThrow(/Checkpoint "extra.safetensors" has 1 tensors tiny does not use \(e.g. model.diffusion_model.extra.weight\)/);
    weights.delete('model.diffusion_model.extra.weight');
    weights.delete('model.diffusion_model.out.2.bias');
    await writeSafetensors(path.join(dir, 'short.safetensors'), weights);
    await expect(loadSdModel('short.safetensors', models)).rejects.toThrow(/Checkpoint "short.safetensors" does not fit tiny: checkpoint has no model.diffusion_model.out.2.bias/);
    expect(readdirSync(path.join(models, 'converted'))).toEqual([]);
  });
});

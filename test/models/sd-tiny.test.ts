import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../models/onnx/index.ts';
import { tiny } from '../../models/sd/config.ts';
import { clipTokenizerFromJson } from '../../models/sd/clip-tokenizer.ts';
import { tinyClipTokenizerJson } from '../../models/sd/tiny-tokenizer.ts';
import { randomWeights } from '../../models/sd/tiny-weights.ts';
import { TensorWeights } from '../../models/sd/tensor-weights.ts';
import { sdModelFromWeights } from '../../models/sd/sd-model.ts';
import { loraFeeds, type LoraBranch } from '../../models/sd/lora-feeds.ts';
import { sample } from '../../models/sd/sample.ts';
import { decodeLatents, encodeImage } from '../../models/sd/vae-codec.ts';
import { latentPreview } from '../../models/sd/latent-preview.ts';
import { encodePrompts } from '../../models/sd/encode-prompt.ts';
import { SessionManager } from '../../models/session/manager.ts';
import { Rng } from '../../runtime/rng.ts';

const SEED = 5;
const weights = randomWeights(tiny, SEED);
const tokenizer = clipTokenizerFromJson(tinyClipTokenizerJson());
const model = sdModelFromWeights('tiny-test', tiny, tokenizer, new TensorWeights(weights));
const params = { prompt: 'a photo of a (smiling:1.3) woman', negativePrompt: 'blurry', steps: 6, width: 64, height: 64, seed: 42, cfg: 5 };

function unetFeeds(rng: Rng): Record<string, HostTensor> {
  const n = (k: number) => rng.fillNormal(new Float32Array(k));
  return {
    sample: { dtype: 'float32', dims: [2, 4, 8, 8], data: n(2 * 4 * 64) },
    timestep: { dtype: 'float32', dims: [2], data: Float32Array.from([900, 250]) },
    context: { dtype: 'float32', dims: [2, 77, 32], data: n(2 * 77 * 32) },
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}

describe('tiny SD end to end', () => {
  it('gives byte-identical latents and images for a seed, different ones for another seed', async () => {
    const a = await sample(model, params);
    const b = await sample(model, params);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    const c = await sample(model, { ...params, seed: 43 });
    expect(maxDiff(a.data, c.data)).toBeGreaterThan(0.1);
    const [imgA] = await decodeLatents(model, a);
    const [imgB] = await decodeLatents(model, b);
    expect(imgA).toMatchObject({ width: 64, height: 64, channels: 3 });
    expect(Buffer.from(imgA!.data).equals(Buffer.from(imgB!.data))).toBe(true);
  });

  it('image i of a batch equals a single run with seed + i', async () => {
    const batch = await sample(model, { ...params, batch: 2, scheduler: 'euler_a' });
    const second = await sample(model, { ...params, seed: params.seed + 1, scheduler: 'euler_a' });
    const plane = 4 * 8 * 8;
    expect(maxDiff(batch.data.subarray(plane), second.data)).toBeLessThan(1e-4);
  });

  it('img2img starts from the encoded image: low strength stays near it', async () => {
    const [img] = await decodeLatents(model, await sample(model, params));
    const { mean } = await encodeImage(model, img!);
    const near = await sample(model, { ...params, strength: 0.2, scheduler: 'ddim', steps: 10 }, { init: img });
    const far = await sample(model, { ...params, strength: 1, scheduler: 'ddim', steps: 10 }, { init: img });
    expect(maxDiff(near.data, mean)).toBeLessThan(maxDiff(far.data, mean));
    await expect(sample(model, { ...params, width: 128 }, { init: img })).rejects.toThrow(/init image is 64x64/);
  });

  it('stops between steps when aborted and reports every step with a preview', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = sample(model, { ...params, steps: 10, scheduler: 'euler' }, {
      signal: controller.signal,
      onStep: (s) => {
        seen.push(s.index);
        const preview = latentPreview(s.latent, 0, 8, 8);
        expect(preview).toMatchObject({ width: 8, height: 8, channels: 3 });
        if (s.index === 2) controller.abort(new Error('cancelled by test'));
      },
    });
    await expect(run).rejects.toThrow('cancelled by test');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('fused and decomposed attention agree', async () => {
    const decomposed = sdModelFromWeights('tiny-dec', tiny, tokenizer, new TensorWeights(weights), { attention: 'decomposed' });
    const feeds = { ...unetFeeds(new Rng(1)), ...loraFeeds(model.loraTargets.unet) };
    const a = (await (await model.session('unet')).run(feeds)).eps!.data as Float32Array;
    const b = (await (await decomposed.session('unet')).run(feeds)).eps!.data as Float32Array;
    expect(maxDiff(a, b)).toBeLessThan(1e-4);
  });
});

describe('LoRA branches as graph inputs', () => {
  const rng = new Rng(9);
  const rank = 4;
  const branches = new Map<string, LoraBranch>(model.loraTargets.unet.map((t) => [t.name, {
    rank,
    a: rng.fillNormal(new Float32Array(t.in * rank)).map((v) => v * 0.1),
    b: rng.fillNormal(new Float32Array(rank * t.out)).map((v) => v * 0.1),
  }]));
  const feeds = unetFeeds(new Rng(2));

  it('a branch with B = 0 gives exactly the output of no LoRA', async () => {
    const unet = await model.session('unet');
    const none = (await unet.run({ ...feeds, ...loraFeeds(model.loraTargets.unet) })).eps!.data as Float32Array;
    const zeroB = new Map([...branches].map(([k, v]) => [k, { ...v, b: new Float32Array(v.b.length) }]));
    const zero = (await unet.run({ ...feeds, ...loraFeeds(model.loraTargets.unet, zeroB) })).eps!.data as Float32Array;
    expect(maxDiff(none, zero)).toBe(0);
  });

  it('a non-zero branch equals the weights merged as W + (A·B)ᵀ', async () => {
    const unet = await model.session('unet');
    const withLora = (await unet.run({ ...feeds, ...loraFeeds(model.loraTargets.unet, branches) })).eps!.data as Float32Array;
    const merged = new Map(weights);
    for (const t of model.loraTargets.unet) {
      const key = `${t.module}.weight`;
      const w = weights.get(key)!;
      const data = Float32Array.from(w.data as Float32Array);
      const { a, b } = branches.get(t.name)!;
      // W is [out, in] (or [out, in, 1, 1]); the branch adds x·A·B, i.e. W[o][i] += Σr A[i][r]·B[r][o].
      for (let o = 0; o < t.out; o++) {
        for (let i = 0; i < t.in; i++) {
          let s = 0;
          for (let r = 0; r < rank; r++) s += a[i * rank + r]! * b[r * t.out + o]!;
          data[o * t.in + i]! += s;
        }
      }
      merged.set(key, { ...w, data });
    }
    const bakedModel = sdModelFromWeights('tiny-merged', tiny, tokenizer, new TensorWeights(merged));
    const baked = (await (await bakedModel.session('unet')).run({ ...feeds, ...loraFeeds(bakedModel.loraTargets.unet) })).eps!.data as Float32Array;
    const none = (await unet.run({ ...feeds, ...loraFeeds(model.loraTargets.unet) })).eps!.data as Float32Array;
    expect(maxDiff(withLora, none)).toBeGreaterThan(1e-2);
    expect(maxDiff(withLora, baked)).toBeLessThan(1e-4);
  });

  it('per-step LoRA callbacks change the result and wrong sizes are rejected', async () => {
    const plain = await sample(model, params);
    const scheduled = await sample(model, params, { unetLora: (i) => (i < 3 ? branches : undefined) });
    expect(maxDiff(plain.data, scheduled.data)).toBeGreaterThan(1e-3);
    const [first] = model.loraTargets.unet;
    const bad = new Map([[first!.name, { rank: 2, a: new Float32Array(3), b: new Float32Array(3) }]]);
    expect(() => loraFeeds(model.loraTargets.unet, bad)).toThrow(/rank 2 needs A/);
  });
});

describe('prompt encoding', () => {
  it('weights, clip skip and text-encoder LoRA change the embedding; long prompts add chunks', async () => {
    const [plain, weighted, long] = await encodePrompts(model, ['a photo of a face', 'a photo of a (face:1.5)', 'face '.repeat(100)]);
    expect(plain!.tokens).toBe(154); // padded to the longest prompt's two chunks
    expect(long!.tokens).toBe(154);
    expect(maxDiff(plain!.data, weighted!.data)).toBeGreaterThan(1e-3);
    const [skip2] = await encodePrompts(model, ['a photo of a face'], { clipSkip: 2 });
    expect(maxDiff(skip2!.data, plain!.data.subarray(0, 77 * 32))).toBeGreaterThan(1e-3);
    const rng = new Rng(4);
    const lora = new Map(model.loraTargets.text.map((t) => [t.name, {
      rank: 2, a: rng.fillNormal(new Float32Array(t.in * 2)), b: rng.fillNormal(new Float32Array(2 * t.out)).map((v) => v * 0.1),
    }]));
    const [adapted] = await encodePrompts(model, ['a photo of a face'], { lora });
    const [single] = await encodePrompts(model, ['a photo of a face']);
    expect(maxDiff(adapted!.data, single!.data)).toBeGreaterThan(1e-3);
    expect(maxDiff(single!.data, plain!.data.subarray(0, 77 * 32))).toBeLessThan(1e-5);
  });

  it('releases the text encoder after encoding, unless the caller holds a session', async () => {
    const sessions = new SessionManager();
    const cached = sdModelFromWeights('tiny-cached', tiny, tokenizer, new TensorWeights(weights), { sessions });
    const [once] = await encodePrompts(cached, ['a photo of a face']);
    expect(sessions.stats()).toMatchObject({ misses: 1, keys: [] });
    const held = await cached.session('text');
    const [again] = await encodePrompts(cached, ['a photo of a face'], { session: held });
    expect(again!.data).toEqual(once!.data);
    expect(sessions.stats().keys).toHaveLength(1);
    await cached.release();
    await sessions.clear();
  });
});

// How each SD part's session is made on the CPU (models/sd/sd-model.ts partOptions): fp16 Casts never
// folded; the UNet and the VAE decoder and encoder with a memory arena but no memory pattern, the text
// encoder without an arena. FACECHAIN_SD_MEMORY=speed folds the UNet's and decoder's weights to float32
// (constant folding on, ORT level 'all') and gives the same results within float rounding; from the
// second session on it loads the optimised graph ORT saved into the converted cache.
import { afterAll, describe, expect, it } from 'vitest';
import { SD_PARTS } from '../../models/sd/build.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../cli/main.ts';
import { configureSdMemory, sdMemory } from '../../models/sd/fp16.ts';
import { loraFeeds } from '../../models/sd/lora-feeds.ts';
import { partOptions, type SdModel } from '../../models/sd/sd-model.ts';
import { RuntimeInfoSchema } from '../../protocol/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { runtimeInfo } from '../../server/runtime-info.ts';
import { tempDir } from '../helpers/temp.ts';

let model: SdModel | undefined;
let speed: SdModel | undefined;
afterAll(async () => {
  await model?.release();
  await speed?.release();
});

describe('SD part sessions', () => {
  it('choose arena, memory pattern and folding per part and provider', () => {
    expect(partOptions('unet', 'cpu')).toEqual({ foldConstants: false, arena: true, memPattern: false, prepack: false });
    expect(partOptions('vaeDecoder', 'cpu')).toEqual({ foldConstants: false, arena: true, memPattern: false });
    expect(partOptions('vaeEncoder', 'cpu')).toEqual({ foldConstants: false, arena: true, memPattern: false });
    expect(partOptions('text', 'cpu')).toEqual({ foldConstants: false, arena: false });
    // GPU providers keep the earlier set-up: UNet with an arena, the others without.
    expect(partOptions('unet', 'cuda')).toEqual({ foldConstants: false, arena: true });
    expect(partOptions('unet', 'webgpu')).toEqual({ foldConstants: false, arena: true, deviceOutputs: true });
    expect(partOptions('vaeDecoder', 'webgpu')).toEqual({ foldConstants: false, arena: false });
  });

  it('are created with those options on the CPU', async () => {
    if (process.env.FACECHAIN_EP && process.env.FACECHAIN_EP !== 'cpu') return;
    model = await loadSdModel('tiny', tempDir('part-options'));
    const options = Object.fromEntries(await Promise.all(SD_PARTS.map(async (p) => [p, (await model!.session(p)).options] as const)));
    const folding = (o: (typeof options)[string]) => (o.extra as { optimization?: { disable_specified_optimizers?: string } } | undefined)?.optimization?.disable_specified_optimizers;
    for (const p of ['unet', 'vaeDecoder', 'vaeEncoder'] as const) {
      expect(options[p]!.enableCpuMemArena, p).toBeUndefined();
      expect(options[p], p).toMatchObject({ enableMemPattern: false, graphOptimizationLevel: 'extended' });
      expect(folding(options[p]!), p).toBe('ConstantFolding');
    }
    const session = (o: (typeof options)[string]) => (o.extra as { session?: Record<string, string> }).session;
    expect(session(options.unet!)).toMatchObject({ disable_prepacking: '1' });
    expect(session(options.vaeDecoder!)?.disable_prepacking).toBeUndefined();
    expect(session(options.vaeEncoder!)?.disable_prepacking).toBeUndefined();
    expect(options.text).toMatchObject({ enableCpuMemArena: false, enableMemPattern: false });
  });

  it('FACECHAIN_SD_MEMORY=speed folds the UNet and VAE decoder on the CPU only', () => {
    expect(sdMemory(undefined)).toBe('lean');
    expect(sdMemory(' Speed ')).toBe('speed');
    expect(() => sdMemory('fast')).toThrow(/FACECHAIN_SD_MEMORY \/ --sd-memory: lean, speed or int8/);
    expect(partOptions('unet', 'cpu', 'lean')).toEqual(partOptions('unet', 'cpu'));
    expect(partOptions('unet', 'cpu', 'speed')).toEqual({ foldConstants: true, optimization: 'all', arena: true, memPattern: false, prepack: false });
    expect(partOptions('vaeDecoder', 'cpu', 'speed')).toEqual({ foldConstants: true, optimization: 'all', arena: true, memPattern: false });
    expect(partOptions('vaeEncoder', 'cpu', 'speed')).toEqual(partOptions('vaeEncoder', 'cpu', 'lean'));
    expect(partOptions('text', 'cpu', 'speed')).toEqual(partOptions('text', 'cpu', 'lean'));
    expect(partOptions('unet', 'cuda', 'speed')).toEqual(partOptions('unet', 'cuda', 'lean'));
    // int8: the UNet lean but prepacked (MatMulNBits' int8 kernel), the VAE decoder as in speed mode.
    expect(partOptions('unet', 'cpu', 'int8')).toEqual({ ...partOptions('unet', 'cpu', 'lean'), prepack: true });
    expect(partOptions('vaeDecoder', 'cpu', 'int8')).toEqual(partOptions('vaeDecoder', 'cpu', 'speed'));
    expect(partOptions('vaeEncoder', 'cpu', 'int8')).toEqual(partOptions('vaeEncoder', 'cpu', 'lean'));
    expect(partOptions('text', 'cpu', 'int8')).toEqual(partOptions('text', 'cpu', 'lean'));
    expect(partOptions('unet', 'webgpu', 'int8')).toEqual(partOptions('unet', 'webgpu', 'lean'));
  });

  it('speed sessions fold and match the lean ones within float rounding', async () => {
    if (process.env.FACECHAIN_EP && process.env.FACECHAIN_EP !== 'cpu') return;
    model ??= await loadSdModel('tiny', tempDir('part-options'));
    process.env.FACECHAIN_SD_MEMORY = 'speed';
    try {
      speed = await loadSdModel('tiny', tempDir('part-options-speed'));
      for (const p of ['unet', 'vaeDecoder'] as const) {
        const o = (await speed.session(p)).options;
        expect(o.graphOptimizationLevel, p).toBe('all');
        expect((o.extra as { optimization?: unknown } | undefined)?.optimization, p).toBeUndefined();
      }
    } finally {
      delete process.env.FACECHAIN_SD_MEMORY;
    }
    expect(speed.precisions()).toEqual({ unet: { precision: 'fp32', memory: 'speed' }, vaeDecoder: { precision: 'fp32', memory: 'speed' } });
    const rng = new Rng(3);
    const unetIn = {
      sample: { dtype: 'float32' as const, dims: [2, 4, 8, 8], data: rng.fillNormal(new Float32Array(512)) },
      timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(700, 700) },
      context: { dtype: 'float32' as const, dims: [2, 77, 32], data: rng.fillNormal(new Float32Array(2 * 77 * 32)) },
      ...loraFeeds(model.loraTargets.unet),
    };
    const eps = async (m: SdModel) => (await (await m.session('unet')).run(unetIn)).eps!.data as Float32Array;
    const [lean, fast] = [await eps(model), await eps(speed)];
    const scale = Math.max(...lean.map(Math.abs));
    expect(Math.max(...fast.map((v, i) => Math.abs(v - lean[i]!))) / scale).toBeLessThan(1e-5);
    const latent = { latent: { dtype: 'float32' as const, dims: [1, 4, 8, 8], data: rng.fillNormal(new Float32Array(256)) } };
    const pixels = async (m: SdModel) => (await (await m.session('vaeDecoder')).run(latent)).image!.data as Uint8Array;
    const [leanImage, fastImage] = [await pixels(model), await pixels(speed)];
    expect(Math.max(...fastImage.map((v, i) => Math.abs(v - leanImage[i]!)))).toBeLessThanOrEqual(1);
  });

  it('speed sessions load from the second on the optimised graph ORT saved into the converted cache', async () => {
    if (process.env.FACECHAIN_EP && process.env.FACECHAIN_EP !== 'cpu') return;
    const data = tempDir('part-options-cached');
    const rng = new Rng(5);
    const unetIn = {
      sample: { dtype: 'float32' as const, dims: [2, 4, 8, 8], data: rng.fillNormal(new Float32Array(512)) },
      timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(300, 300) },
      context: { dtype: 'float32' as const, dims: [2, 77, 32], data: rng.fillNormal(new Float32Array(2 * 77 * 32)) },
    };
    const saved = () => readdirSync(path.join(data, 'converted')).filter((d) => existsSync(path.join(data, 'converted', d, 'unet.onnx.weights')));
    process.env.FACECHAIN_SD_MEMORY = 'speed';
    const made: SdModel[] = [];
    try {
      const eps = async () => {
        const m = await loadSdModel('tiny', data);
        made.push(m);
        const s = await m.session('unet');
        return { options: s.options, eps: (await s.run({ ...unetIn, ...loraFeeds(m.loraTargets.unet) })).eps!.data as Float32Array };
      };
      const first = await eps();
      expect(first.options).toMatchObject({ graphOptimizationLevel: 'all', optimizedModelFilePath: expect.stringMatching(/unet\.onnx$/) });
      expect(saved()).toHaveLength(1);
      const second = await eps();
      // Loaded from the saved graph: nothing left to optimise, nothing saved again.
      expect(second.options.graphOptimizationLevel).toBe('disabled');
      expect(second.options.optimizedModelFilePath).toBeUndefined();
      expect(saved()).toHaveLength(1);
      expect(Math.max(...second.eps.map((v, i) => Math.abs(v - first.eps[i]!)))).toBeLessThanOrEqual(1e-6);
    } finally {
      delete process.env.FACECHAIN_SD_MEMORY;
      for (const m of made) await m.release();
    }
  });

  it('honours `run --sd-memory speed` over FACECHAIN_SD_MEMORY, and refuses other values', async () => {
    if (process.env.FACECHAIN_EP && process.env.FACECHAIN_EP !== 'cpu') return;
    const data = tempDir('part-options-cli');
    const run = (memory: string) => main([
      'run', path.resolve(import.meta.dirname, '../../graphs/txt2img.json'), '--sd-memory', memory, '--data', data, '--quiet',
      '--set', 'sampler.steps=1', '--set', 'sampler.width=64', '--set', 'sampler.height=64', '--set', 'sampler.batch=1',
    ]);
    try {
      expect(await run('fast')).toBe(1);
      process.env.FACECHAIN_SD_MEMORY = 'lean';
      expect(await run('speed')).toBe(0);
      // What the run's sessions were made with, as /api/health reports it.
      const info = RuntimeInfoSchema.parse(await runtimeInfo());
      if (info.provider === null) throw new Error(info.error);
      expect(info.parts).toMatchObject({ unet: { memory: 'speed' }, vaeDecoder: { memory: 'speed' } });
      expect(info.parts.text).not.toHaveProperty('memory');
    } finally {
      delete process.env.FACECHAIN_SD_MEMORY;
      configureSdMemory(undefined);
    }
    expect(sdMemory()).toBe('lean');
  });
});

// How each SD part's session is made on the CPU (models/sd/sd-model.ts partOptions): fp16 Casts never
// folded; the UNet and the VAE decoder and encoder with a memory arena but no memory pattern, the text
// encoder without an arena.
import { afterAll, describe, expect, it } from 'vitest';
import { SD_PARTS } from '../../models/sd/build.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { partOptions, type SdModel } from '../../models/sd/sd-model.ts';
import { tempDir } from '../helpers/temp.ts';

let model: SdModel | undefined;
afterAll(async () => {
  await model?.release();
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
});

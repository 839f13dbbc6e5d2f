// The resident training loop (LoRA, AdamW moments and gradients kept in the step's session thread,
// models/train/resident-lora.ts) against the host loop on the CPU provider: the same bits after every
// step, in float32 and in mixed precision with overflow-skipped steps, across a checkpoint resume; and
// per step it copies three numbers to the host, nothing else.
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dataset } from '../../models/preprocess/values.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { readSafetensors } from '../../models/safetensors.ts';
import type { LoraParams } from '../../models/train/lora-params.ts';
import { trainLora, type StepReport, type TrainSettings } from '../../models/train/train-lora.ts';
import { discDataset } from '../helpers/disc-images.ts';
import { tempDir } from '../helpers/temp.ts';

const model = tinyModel(0);
let dataset: Dataset;

beforeAll(async () => {
  dataset = await discDataset(tempDir('resident'), '<sks>, a woman', 'a woman');
});

afterEach(() => void vi.restoreAllMocks());

const FAST: Partial<TrainSettings> = { resolution: 64, batch: 2, targets: 'all', learningRate: 1e-2, schedule: 'cosine', recompute: 'off' };
/** A copy of the LoRA's bytes (the params' arrays are updated in place). */
const bytes = (p: LoraParams) => p.modules.flatMap((m) => [m.a, m.b].map((x) => Buffer.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))));

/** Each step's report and the LoRA's bytes after it. */
async function run(settings: Partial<TrainSettings>, loop: 'host' | 'resident') {
  const steps: { report: StepReport; lora: Buffer[] }[] = [];
  const r = await trainLora(model, dataset, settings, { loop, onStep: async (report, params) => void steps.push({ report, lora: bytes(await params()) }) });
  return { ...r, steps };
}

describe('the resident training loop', { timeout: 180_000 }, () => {
  it('gives the host loop\'s LoRA bit for bit after every step (alpha 32: B fed scaled)', async () => {
    const settings = { ...FAST, steps: 5, alpha: 32 };
    const [host, resident] = [await run(settings, 'host'), await run(settings, 'resident')];
    expect(resident.losses).toEqual(host.losses);
    expect(resident.steps.map((s) => s.report.gradNorm)).toEqual(host.steps.map((s) => s.report.gradNorm));
    for (let k = 0; k < 5; k++) expect(resident.steps[k]!.lora).toEqual(host.steps[k]!.lora);
    expect(bytes(resident.params)).toEqual(bytes(host.params));
    expect(bytes(resident.params)).not.toEqual(resident.steps[0]!.lora);
  });

  it('skips overflowed steps in mixed precision as the host loop does, with the same bits', async () => {
    // 2^32: the first steps' float16 gradients overflow; the scale halves until they fit, then grows (every 2 good steps).
    const settings = { ...FAST, steps: 12, mixedPrecision: 'on' as const, lossScale: 2 ** 32, lossScaleGrowth: 2 };
    const [host, resident] = [await run(settings, 'host'), await run(settings, 'resident')];
    const skipped = resident.steps.filter((s) => s.report.skipped).length;
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(12);
    expect(resident.steps[0]!.report.skipped).toBe(true);
    expect(resident.steps.map((s) => [s.report.lossScale, s.report.skipped])).toEqual(host.steps.map((s) => [s.report.lossScale, s.report.skipped]));
    expect(resident.losses).toEqual(host.losses);
    for (let k = 0; k < 12; k++) {
      expect(resident.steps[k]!.lora).toEqual(host.steps[k]!.lora);
      // A skipped step leaves the resident LoRA as it was.
      if (k > 0 && resident.steps[k]!.report.skipped) expect(resident.steps[k]!.lora).toEqual(resident.steps[k - 1]!.lora);
    }
  });

  it('resumes from a checkpoint to the same LoRA and moments as an uninterrupted host run', async () => {
    const settings = { ...FAST, steps: 10, mixedPrecision: 'on' as const, lossScale: 2 ** 30, lossScaleGrowth: 2 };
    const dir = tempDir('resident-ck');
    const straight = path.join(dir, 'straight.safetensors');
    const host = await trainLora(model, dataset, settings, { loop: 'host', checkpoint: { file: straight, every: 100, fingerprint: 't' } });
    const checkpoint = { file: path.join(dir, 'state.safetensors'), every: 3, fingerprint: 't' };
    const stop = new AbortController();
    // Written by the resident loop at step 3 and on the cancel at step 7, resumed by it.
    await expect(trainLora(model, dataset, settings, {
      loop: 'resident', signal: stop.signal, checkpoint, onStep: (r) => void (r.step === 7 && stop.abort(new Error('stop'))),
    })).rejects.toThrow('stop');
    const resumed = await trainLora(model, dataset, settings, { loop: 'resident', checkpoint });
    expect(resumed.resumedFrom).toBe(7);
    expect(resumed.losses).toEqual(host.losses.slice(7));
    expect(bytes(resumed.params)).toEqual(bytes(host.params));
    // The saved state (moments, update count, loss scale) too.
    const [a, b] = [await readSafetensors(straight), await readSafetensors(checkpoint.file)];
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [name, t] of a.tensors) expect(Buffer.from(b.tensors.get(name)!.data.buffer)).toEqual(Buffer.from(t.data.buffer));
    expect(b.metadata).toEqual(a.metadata);
  });

  it('copies one small tensor to the host per step and puts nothing after the start', async () => {
    const get = vi.spyOn(PartSession.prototype, 'get');
    const put = vi.spyOn(PartSession.prototype, 'put');
    const counts: { get: number; put: number }[] = [];
    const r = await trainLora(model, dataset, { ...FAST, steps: 4 }, { loop: 'resident', onStep: () => void counts.push({ get: get.mock.calls.length, put: put.mock.calls.length }) });
    const perStep = counts.slice(1).map((c, k) => ({ get: c.get - counts[k]!.get, put: c.put - counts[k]!.put }));
    expect(perStep).toEqual([{ get: 1, put: 0 }, { get: 1, put: 0 }, { get: 1, put: 0 }]);
    const results = await Promise.all(get.mock.results.slice(0, 4).map((x) => x.value as Promise<{ dims: number[] }>));
    expect(results.map((t) => t.dims)).toEqual([[3], [3], [3], [3]]);
    expect(r.losses).toHaveLength(4);
  });

  it('runs recompute\'s segments on kept tensors too: the host loop\'s bits, one copy to the host per step', async () => {
    // 2^17 fits float16 here and 2^23 overflows: doubling after every good step reaches an overflow by step 7.
    const settings = { ...FAST, steps: 7, recompute: 'on' as const, mixedPrecision: 'on' as const, lossScale: 2 ** 17, lossScaleGrowth: 1 };
    const host = await run(settings, 'host');
    const get = vi.spyOn(PartSession.prototype, 'get');
    const gets: number[] = [];
    const resident = await trainLora(model, dataset, settings, { loop: 'resident', onStep: () => void gets.push(get.mock.calls.length) });
    expect(gets).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(host.steps.map((s) => s.report.skipped)).toContain(true);
    expect(host.steps.map((s) => s.report.skipped)).toContain(false);
    expect(resident.losses).toEqual(host.losses);
    expect(bytes(resident.params)).toEqual(bytes(host.params));
    expect(bytes(resident.params)).not.toEqual(host.steps[0]!.lora);
  });

  it('is the default where it runs; a trained text encoder keeps the host loop, and asking for resident there is refused', async () => {
    const get = vi.spyOn(PartSession.prototype, 'get');
    await trainLora(model, dataset, { ...FAST, steps: 1 });
    expect(get).toHaveBeenCalled();
    get.mockClear();
    await trainLora(model, dataset, { ...FAST, steps: 1, textEncoder: true });
    expect(get).not.toHaveBeenCalled();
    await expect(trainLora(model, dataset, { ...FAST, steps: 1, textEncoder: true }, { loop: 'resident' })).rejects.toThrow('frozen text encoder');
  });
});

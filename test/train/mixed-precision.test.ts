// Mixed-precision training on the CPU provider (float16 graphs compute there behind casts, so this
// checks the arithmetic, not speed): the loss falls with float16 forward/backward and float32 master
// weights, and a loss scale too large for float16 overflows the gradients, which skips the step and
// halves the scale until it fits.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../models/preprocess/values.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import type { LoraParams } from '../../models/train/lora-params.ts';
import { trainLora, type StepReport, type TrainSettings } from '../../models/train/train-lora.ts';
import { discDataset } from '../helpers/disc-images.ts';
import { tempDir } from '../helpers/temp.ts';

const model = tinyModel(0);
let dataset: Dataset;

beforeAll(async () => {
  dataset = await discDataset(tempDir('mixed'), '<sks>, a woman', 'a woman');
});

const FAST: Partial<TrainSettings> = { resolution: 64, batch: 4, targets: 'all', learningRate: 1e-2, schedule: 'constant', mixedPrecision: 'on' };
const mean = (a: readonly number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const snapshot = (p: LoraParams) => p.modules.flatMap((m) => [...m.a, ...m.b]);

describe('mixed-precision LoRA training on the tiny model', { timeout: 180_000 }, () => {
  it('lowers the loss with float16 graphs and float32 master weights, close to float32 training', async () => {
    const mixed = await trainLora(model, dataset, { ...FAST, steps: 60 });
    const full = await trainLora(model, dataset, { ...FAST, steps: 1, mixedPrecision: 'off' });
    const [first, last] = [mean(mixed.losses.slice(0, 10)), mean(mixed.losses.slice(-10))];
    console.log(`mixed precision: loss ${first.toFixed(3)} -> ${last.toFixed(3)} over 60 steps; step 1 ${mixed.losses[0]} (float32 ${full.losses[0]})`);
    expect(last).toBeLessThan(0.8 * first);
    // Step 1's loss is the same network's forward pass in float16.
    expect(Math.abs(mixed.losses[0]! - full.losses[0]!)).toBeLessThan(2e-2 * full.losses[0]!);
  });

  it('skips a step whose gradients overflow float16, leaving the LoRA as it was, and halves the scale', async () => {
    const reports: { report: StepReport; before: number[]; after: number[] }[] = [];
    let before: number[] | undefined;
    // 2^32: the noise prediction's gradient (2·diff·scale/N, N = 4·4·8·8) far exceeds float16's 65504.
    await trainLora(model, dataset, { ...FAST, steps: 14, lossScale: 2 ** 32, lossScaleGrowth: 3 }, {
      onStep: async (report, params) => {
        const after = snapshot(await params());
        reports.push({ report, before: before ?? [], after });
        before = after;
      },
    });
    const skipped = reports.filter((r) => r.report.skipped);
    expect(reports[0]!.report.skipped).toBe(true);
    expect(reports[0]!.report.lossScale).toBe(2 ** 31);
    expect(Number.isNaN(reports[0]!.report.gradNorm)).toBe(true);
    for (const r of skipped.slice(1)) expect(r.after).toEqual(r.before);
    // Once the scale fits, steps update the LoRA; three good steps in a row double it again.
    const firstGood = reports.findIndex((r) => !r.report.skipped);
    expect(firstGood).toBeGreaterThan(0);
    const good = reports[firstGood]!;
    expect(good.after).not.toEqual(good.before);
    expect(Number.isFinite(good.report.gradNorm)).toBe(true);
    const fitted = reports[firstGood - 1]!.report.lossScale!;
    expect(good.report.lossScale).toBe(fitted);
    const third = reports[firstGood + 2];
    if (third && !reports.slice(firstGood, firstGood + 3).some((r) => r.report.skipped)) expect(third.report.lossScale).toBe(2 * fitted);
    console.log(`loss scale by step: ${reports.map((r) => `${Math.log2(r.report.lossScale!)}${r.report.skipped ? ' skipped' : ''}`).join(', ')}`);
  });

  it('resumes with the loss scale and the update count the run had', async () => {
    // Skipped steps at the start, then updates: a resumed run must keep both the scale and AdamW's step.
    const settings = { ...FAST, steps: 12, batch: 2, lossScale: 2 ** 30, lossScaleGrowth: 2 };
    const straight = await trainLora(model, dataset, settings);
    const checkpoint = { file: path.join(tempDir('mixed-ck'), 'state.safetensors'), every: 100, fingerprint: 'test' };
    const stop = new AbortController();
    await expect(trainLora(model, dataset, settings, {
      signal: stop.signal, checkpoint, onStep: (r) => void (r.step === 9 && stop.abort(new Error('stop'))),
    })).rejects.toThrow('stop');
    const resumed = await trainLora(model, dataset, settings, { checkpoint });
    expect(resumed.resumedFrom).toBe(9);
    expect(resumed.losses).toEqual(straight.losses.slice(9));
    expect(snapshot(resumed.params)).toEqual(snapshot(straight.params));
  });
});

// WebGPU, the portable GPU path, run for real on a software Vulkan driver: Mesa 25's lavapipe from
// Debian's bookworm-backports (.ci/run installs it; Debian 12's own Mesa 22.3 offers no WebGPU adapter).
// The GPU check (gpu/check.ts) runs with FACECHAIN_EP=webgpu on tiny, in float32 and in float16, and
// its parity rows against float32 on the CPU must hold. Without an adapter the tests say so and skip,
// unless FACECHAIN_REQUIRE_WEBGPU=1 (CI), where that is a failure.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import sharp from 'sharp';
import { GraphBuilder } from '../../models/onnx/index.ts';
import { writeDataset } from '../../models/preprocess/dataset.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import { tinyModel } from '../../models/sd/tiny-model.ts';
import { resetProviderChoice } from '../../models/session/providers.ts';
import { trainLora } from '../../models/train/train-lora.ts';
import { toImage } from '../../runtime/image-io.ts';
import { ort } from '../../models/session/ort.ts';
import { ThreadSession } from '../../models/session/thread-session.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

afterAll(() => removeTempDirs());

interface Row { check: string; result: string; value?: number }
const ROOT = path.join(import.meta.dirname, '..', '..');

/** The check's JSON on WebGPU, or why WebGPU could not run here. */
function gpuCheck(precision: 'fp32' | 'fp16'): { provider: string; rows: Row[] } | string {
  const out = path.join(tempDir(`webgpu-${precision}`), 'check.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'gpu/check.ts', '--tiny-only', '--out', out], {
    cwd: ROOT, encoding: 'utf8', timeout: 600_000,
    env: { ...process.env, FACECHAIN_EP: 'webgpu', FACECHAIN_PRECISION: precision },
  });
  const said = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) {
    const reason = /No execution provider worked: (.*)/.exec(said)?.[1];
    if (reason && !process.env.FACECHAIN_REQUIRE_WEBGPU) return reason;
    throw new Error(`gpu check failed (exit ${r.status}):\n${said.slice(-2000)}`);
  }
  return JSON.parse(readFileSync(out, 'utf8'));
}

const row = (rows: Row[], start: string): Row => {
  const found = rows.find((r) => r.check.startsWith(start));
  if (!found) throw new Error(`no row "${start}"`);
  return found;
};
/** A PSNR row's decibels: the check leaves out the value of identical images. */
const decibels = (r: Row): number => (r.result === 'identical' ? Infinity : r.value!);

describe('WebGPU on a software Vulkan driver', () => {
  it('float32: the tiny model matches the CPU within float32 rounding, with the fused-attention check reported', (ctx) => {
    const result = gpuCheck('fp32');
    if (typeof result === 'string') return ctx.skip(`no WebGPU adapter here (${result}); install Mesa 25 lavapipe as .ci/run does`);
    expect(result.provider).toBe('webgpu');
    // The check compares one fused attention with the CPU; lavapipe's is wrong (about 1e-1), so the SD
    // graphs take standard ops there; either way the parts below must match.
    expect(row(result.rows, 'fused attention').value).toBeGreaterThanOrEqual(0);
    expect(row(result.rows, 'parity tiny text').value).toBeLessThan(1e-5);
    expect(row(result.rows, 'parity tiny unet').value).toBeLessThan(1e-4);
    expect(row(result.rows, 'parity tiny vaeDecoder').value).toBeGreaterThan(60);
    expect(row(result.rows, 'txt2img tiny').value).toBeGreaterThan(0);
    // txt2img's final image against the same run in float32 on the CPU (a child process of the check).
    expect(row(result.rows, 'txt2img tiny 64x64, 4 steps: final image').check).toContain('webgpu fp32 vs cpu fp32');
    expect(decibels(row(result.rows, 'txt2img tiny 64x64, 4 steps: final image'))).toBeGreaterThan(60);
    // GPU tensors fed back (IO binding) against the same graphs through host copies, and the host loop.
    expect(row(result.rows, 'resident loop tiny: vs host copies').value).toBeLessThanOrEqual(1e-6);
    expect(row(result.rows, 'resident loop tiny: vs the host loop').value).toBeLessThan(1e-4);
  }, 600_000);

  it('float16 (the GPU default): within the float16 tolerances of the CPU float32 result', (ctx) => {
    const result = gpuCheck('fp16');
    if (typeof result === 'string') return ctx.skip(`no WebGPU adapter here (${result})`);
    expect(row(result.rows, 'parity tiny text').check).toContain('webgpu fp16 vs cpu fp32');
    expect(row(result.rows, 'parity tiny text').value).toBeLessThan(2e-2);
    expect(row(result.rows, 'parity tiny unet').value).toBeLessThan(2e-2);
    expect(row(result.rows, 'parity tiny vaeDecoder').value).toBeGreaterThan(35);
    expect(row(result.rows, 'txt2img tiny 64x64, 4 steps: final image').check).toContain('webgpu fp16 vs cpu fp32');
    expect(decibels(row(result.rows, 'txt2img tiny 64x64, 4 steps: final image'))).toBeGreaterThan(35);
  }, 600_000);

  it('keeps resident tensors on the GPU (IO binding) and brings them back exactly', async (ctx) => {
    const b = new GraphBuilder({ graphName: 'affine' });
    b.output(b.add(b.mul(b.input('x', 'float32', ['n']), b.constant(1.1)), b.constant(0.3)), 'y', 'float32');
    let s: ThreadSession;
    try {
      s = await ThreadSession.create(b.toBytes(), { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
    } catch (e) {
      if (process.env.FACECHAIN_REQUIRE_WEBGPU) throw e;
      return ctx.skip(`no WebGPU adapter here (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      const x = await s.upload(new ort.Tensor('float32', Float32Array.of(1, -2, 3.25), [3]));
      const once = (await s.runResident({ x })).y!;
      const twice = (await s.runResident({ x: once })).y!;
      expect([x.location, once.location, twice.location]).toEqual(['gpu-buffer', 'gpu-buffer', 'gpu-buffer']);
      const viaHost = (await s.run({ x: (await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, -2, 3.25), [3]) })).y! })).y!;
      expect([...((await s.download(twice)).data as Float32Array)]).toEqual([...(viaHost.data as Float32Array)]);
      await s.free([x, once, twice]);
    } finally {
      await s.release();
    }
  });

  it('trains a LoRA with mixed precision (its default there) in the resident loop, losses close to float32 on the CPU, the LoRA the host loop\'s', async (ctx) => {
    const images = await Promise.all(['#d33', '#3a3'].map((c) => toImage(sharp({ create: { width: 64, height: 64, channels: 3, background: c } }).removeAlpha())));
    const dataset = await writeDataset(tempDir('webgpu-train'), images.map((image, i) => ({ image, photo: `p${i}.png`, text: '<sks>, a woman' })), { token: '<sks>', subject: 'a woman' });
    const settings = { resolution: 64, batch: 2, steps: 4, learningRate: 1e-2, schedule: 'constant' as const };
    const saved = process.env.FACECHAIN_EP;
    const on = async (ep: string, mixedPrecision: 'auto' | 'off', loop?: 'host') => {
      process.env.FACECHAIN_EP = ep;
      resetProviderChoice();
      try {
        return await trainLora(tinyModel(0), dataset, { ...settings, mixedPrecision }, { loop, onStep: (r) => void expect(r.skipped).toBe(ep === 'webgpu' ? false : undefined) });
      } finally {
        if (saved === undefined) delete process.env.FACECHAIN_EP;
        else process.env.FACECHAIN_EP = saved;
        resetProviderChoice();
      }
    };
    let gpu: Awaited<ReturnType<typeof trainLora>>;
    const get = vi.spyOn(PartSession.prototype, 'get');
    try {
      gpu = await on('webgpu', 'auto');
    } catch (e) {
      if (process.env.FACECHAIN_REQUIRE_WEBGPU || !/No execution provider worked/.test((e as Error).message)) throw e;
      return ctx.skip(`no WebGPU adapter here (${(e as Error).message.split('\n')[0]})`);
    }
    // What the GPU run copied back (step reports, the final LoRA) were GPU buffers.
    const copied = get.mock.calls.map(([t]) => ('location' in t ? t.location : 'host'));
    get.mockRestore();
    const cpu = await on('cpu', 'off');
    // Measured on lavapipe: 6e-4 relative at most over the 4 steps.
    gpu.losses.forEach((l, k) => expect(Math.abs(l - cpu.losses[k]!)).toBeLessThan(1e-2 * cpu.losses[k]!));
    // LoRA, moments and gradients stayed in GPU buffers; the host loop (the same graphs, AdamW in its own GPU session) ends at the same LoRA.
    expect(gpu.loop).toBe('resident');
    expect(copied.length).toBeGreaterThan(4);
    expect(new Set(copied)).toEqual(new Set(['gpu-buffer']));
    const host = await on('webgpu', 'auto', 'host');
    expect(host.loop).toBe('host');
    expect(host.losses).toEqual(gpu.losses);
    const flat = (r: typeof gpu) => r.params.modules.flatMap((m) => [...m.a, ...m.b]);
    const [a, b] = [flat(gpu), flat(host)];
    const diff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0) / a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    console.log(`webgpu training: resident vs host loop LoRA, max difference / max value ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-6);
  }, 600_000);
});

// `--sd-memory int8` (models/sd/int8.ts): block-wise 8-bit weights for the UNet's transformer linear
// layers as com.microsoft MatMulNBits, quantised once into the converted cache. The quantiser, the
// graph rewrite and its cache on a small graph, then the tiny model: int8 close to lean, a LoRA moving
// the output as it does in lean mode, and the flag.
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { decodeModel, fromFloat16, GraphBuilder, toFloat16 } from '../../models/onnx/index.ts';
import { psnr8, relativeError } from '../../models/onnx/compare.ts';
import { configureSdMemory, sdMemory } from '../../models/sd/fp16.ts';
import { int8Graph } from '../../models/sd/int8.ts';
import { BLOCK, chunkRows, Quantizer } from '../../models/sd/int8-quantize.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';
import { loraFeeds, type LoraBranch } from '../../models/sd/lora-feeds.ts';
import { PartSession } from '../../models/sd/part-session.ts';
import type { SdModel } from '../../models/sd/sd-model.ts';
import { RuntimeInfoSchema } from '../../protocol/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { runtimeInfo } from '../../server/runtime-info.ts';
import { removeTempDirs, tempDir } from '../helpers/temp.ts';

const onCpu = !process.env.FACECHAIN_EP || process.env.FACECHAIN_EP === 'cpu';
const made: SdModel[] = [];
const quantizer = new Quantizer();
afterAll(async () => {
  await quantizer.release();
  for (const m of made) await m.release();
  delete process.env.FACECHAIN_SD_MEMORY;
  removeTempDirs();
});

/** Dequantised values: (q - 128) * scale of their block. */
function dequantize(q: { q: Uint8Array; scales: Float32Array }, n: number, k: number): Float32Array {
  const blocks = Math.ceil(k / BLOCK);
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) {
    const j = Math.floor(c / BLOCK);
    out[r * k + c] = (q.q[(r * blocks + j) * BLOCK + (c % BLOCK)]! - 128) * q.scales[r * blocks + j]!;
  }
  return out;
}

/** A whole [n, k] matrix through the quantiser graph in one run. */
function quantize(w: Float32Array | Uint16Array, n: number, k: number) {
  const blocks = Math.ceil(k / BLOCK);
  return quantizer.run({ w, q: new Uint8Array(n * blocks * BLOCK), scales: new Float32Array(n * blocks) }, n, k);
}

describe('int8 quantiser (an ORT graph)', () => {
  it('keeps every value within half a step of its block, K padded to whole blocks at the zero point', async () => {
    const [n, k] = [3, 200];
    const w = new Rng(1).fillNormal(new Float32Array(n * k));
    w[5] = 0;
    w.fill(0, k, 2 * k); // an all-zero row: scale 0 (no division by it), every q at the zero point
    const q = await quantize(w.slice(), n, k);
    expect(q.q.length).toBe(n * 2 * BLOCK);
    expect(q.scales.length).toBe(n * 2);
    const back = dequantize(q, n, k);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) {
      const scale = q.scales[r * 2 + Math.floor(c / BLOCK)]!;
      expect(Math.abs(back[r * k + c]! - w[r * k + c]!)).toBeLessThanOrEqual(scale / 2 + 1e-7);
    }
    // A block's scale is its largest magnitude / 127 in float32, which maps to +-127 steps exactly.
    expect(q.scales[0]).toBe(Math.fround(Math.max(...w.subarray(0, BLOCK).map(Math.abs)) / 127));
    expect([q.scales[2], q.scales[3]]).toEqual([0, 0]);
    expect(q.q.subarray(2 * BLOCK, 4 * BLOCK).every((v) => v === 128)).toBe(true);
    // Padding of the last block of each row (k 200..255) holds the zero point.
    for (let r = 0; r < n; r++) expect(q.q.subarray((r * 2 + 1) * BLOCK + (k - BLOCK), (r * 2 + 2) * BLOCK).every((v) => v === 128)).toBe(true);
    expect(q.q[5]).toBe(128);
  });

  it('known values: steps of max/127, ties rounded half to even (ONNX Round)', async () => {
    const known = await quantize(Float32Array.of(1.27, -0.634, 0.01, 0), 1, 4);
    expect(known.scales[0]).toBe(Math.fround(Math.fround(1.27) / 127));
    expect([...known.q.subarray(0, 4)]).toEqual([128 + 127, 128 - 63, 128 + 1, 128]);
    // Scale 1: w / scale is exactly x.5 for these, which go to the even neighbour.
    const ties = await quantize(Float32Array.of(127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5), 1, 8);
    expect(ties.scales[0]).toBe(1);
    expect([...ties.q.subarray(0, 8)]).toEqual([255, 128, 130, 130, 128, 126, 126, 254]);
  });

  it('takes float16 weights as they are: the same as their float32 values', async () => {
    const [n, k] = [4, 384];
    const half = toFloat16(new Rng(5).fillNormal(new Float32Array(n * k)));
    const [a, b] = [await quantize(half.slice(), n, k), await quantize(fromFloat16(half), n, k)];
    expect(a.q).toEqual(b.q);
    expect(a.scales).toEqual(b.scales);
  });
});

describe('int8 graph rewrite', () => {
  it('runs a Gemm as MatMulNBits from the converted cache, re-quantising when the weights change', async () => {
    // 6000 rows of 200: quantised in two runs (chunkRows), written where one run over all of them would.
    const [rows, k, n] = [5, 200, 6000];
    expect(chunkRows(k)).toBeLessThan(n);
    const rng = new Rng(2);
    const dir = tempDir('int8-graph');
    const weightsFile = path.join(dir, 'w.bin');
    const write = (w: Float32Array) => writeFileSync(weightsFile, new Uint8Array(w.buffer));
    const w1 = rng.fillNormal(new Float32Array(n * k));
    write(w1);
    const b = new GraphBuilder({ domains: { 'com.microsoft': 1 } });
    const x = b.input('x', 'float32', ['rows', k]);
    const w = b.externalInitializer('lin.weight', { dtype: 'float32', dims: [n, k], external: { file: 'w.bin', offset: 0, length: n * k * 4 } });
    const bias = b.initializer('lin.bias', Float32Array.from({ length: n }, (_, i) => i / 10));
    b.output(b.gemm(x, w, bias, { transB: true }), 'y');
    const graph = b.toBytes();
    const xs = rng.fillNormal(new Float32Array(rows * k));
    const reference = (wt: Float32Array) => Float32Array.from({ length: rows * n }, (_, i) => {
      const [r, c] = [Math.floor(i / n), i % n];
      let s = c / 10;
      for (let j = 0; j < k; j++) s += xs[r * k + j]! * wt[c * k + j]!;
      return s;
    });
    const run = async () => {
      const q = await int8Graph(graph, dir, (name) => name === 'lin.weight', dir);
      expect(q.layers).toBe(1);
      const nodes = decodeModel(q.bytes).graph!.node!;
      expect(nodes.map((node) => node.opType)).toEqual(['MatMulNBits', 'Identity']);
      const s = await PartSession.create(q.bytes, { weightsDir: q.weightsDir, prepack: true });
      try {
        return (await s.run({ x: { dtype: 'float32', dims: [rows, k], data: xs } })).y!.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const folders = () => readdirSync(path.join(dir, 'converted')).filter((f) => !f.startsWith('.'));
    // Activations are quantised to int8 too (accuracy_level 4): about 1% of the output's scale here.
    expect(relativeError(await run(), reference(w1))).toBeLessThan(0.02);
    expect(folders()).toHaveLength(1);
    const cached = readFileSync(path.join(dir, 'converted', folders()[0]!, 'unet-int8.bin'));
    const whole = await quantize(w1.slice(), n, k);
    // Compared byte for byte (toEqual on arrays this long takes seconds).
    expect(Buffer.compare(cached.subarray(0, n * 2 * BLOCK), whole.q)).toBe(0);
    expect(Buffer.compare(cached.subarray(n * 2 * BLOCK, n * 2 * BLOCK + n * 2 * 4), new Uint8Array(whole.scales.buffer, whole.scales.byteOffset, n * 2 * 4))).toBe(0);
    expect(relativeError(await run(), reference(w1))).toBeLessThan(0.02);
    expect(folders()).toHaveLength(1);
    const w2 = rng.fillNormal(new Float32Array(n * k));
    write(w2);
    utimesSync(weightsFile, new Date(), new Date(Date.now() + 5000));
    expect(relativeError(await run(), reference(w2))).toBeLessThan(0.02);
    expect(folders()).toHaveLength(2);
  });
});

describe('int8 mode on the tiny model', () => {
  const rng = new Rng(3);
  const unetIn = {
    sample: { dtype: 'float32' as const, dims: [2, 4, 8, 8], data: rng.fillNormal(new Float32Array(512)) },
    timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(700, 700) },
    context: { dtype: 'float32' as const, dims: [2, 77, 32], data: rng.fillNormal(new Float32Array(2 * 77 * 32)) },
  };
  const eps = async (m: SdModel, branches?: ReadonlyMap<string, LoraBranch>) =>
    (await (await m.session('unet')).run({ ...unetIn, ...loraFeeds(m.loraTargets.unet, branches) })).eps!.data as Float32Array;
  const load = async (memory: 'lean' | 'int8', data: string) => {
    process.env.FACECHAIN_SD_MEMORY = memory;
    try {
      const m = await loadSdModel('tiny', data);
      made.push(m);
      await m.session('unet');
      return m;
    } finally {
      delete process.env.FACECHAIN_SD_MEMORY;
    }
  };

  it.runIf(onCpu)('quantises every transformer linear layer, once, and stays close to lean; a LoRA moves it as in lean', async () => {
    const data = tempDir('int8-tiny');
    const [lean, int8] = [await load('lean', data), await load('int8', data)];
    expect(int8.precisions().unet).toEqual({ precision: 'fp32', memory: 'int8' });
    const [a, q] = [await eps(lean), await eps(int8)];
    const error = relativeError(q, a);
    console.log(`int8 UNet (tiny) vs lean: max relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(0.03);
    expect(error).toBeGreaterThan(0); // it is quantised, not the lean graph
    // The quantised weights are cached: one file, reused by a second model.
    const quantised = () => readdirSync(path.join(data, 'converted')).filter((d) => readdirSync(path.join(data, 'converted', d)).includes('unet-int8.bin'));
    expect(quantised()).toHaveLength(1);
    const again = await load('int8', data);
    expect(relativeError(await eps(again), q)).toBe(0);
    expect(quantised()).toHaveLength(1);

    // A rank-2 LoRA on every target, big enough to move the output well past the quantisation error.
    const lr = new Rng(4);
    const branches = new Map(lean.loraTargets.unet.map((t) => [t.name, {
      rank: 2, a: lr.fillNormal(new Float32Array(t.in * 2)).map((v) => v * 0.2), b: lr.fillNormal(new Float32Array(2 * t.out)).map((v) => v * 0.2),
    }]));
    const [aL, qL] = [await eps(lean, branches), await eps(int8, branches)];
    const delta = (x: Float32Array, y: Float32Array) => x.map((v, i) => v - y[i]!);
    expect(relativeError(aL, a)).toBeGreaterThan(0.1);
    expect(relativeError(delta(qL, q), delta(aL, a))).toBeLessThan(0.05);
  });

  it.runIf(onCpu)('`run --sd-memory int8` makes a txt2img image close to lean (PSNR), and /api/health says int8', async () => {
    const data = tempDir('int8-cli');
    const image = async (memory: string) => {
      const out = path.join(data, `out-${memory}`);
      const code = await main([
        'run', path.resolve(import.meta.dirname, '../../graphs/txt2img.json'), '--sd-memory', memory, '--data', data, '--out', out, '--quiet',
        '--set', 'sampler.steps=3', '--set', 'sampler.width=64', '--set', 'sampler.height=64', '--set', 'sampler.batch=1',
      ]);
      expect(code).toBe(0);
      const [file] = readdirSync(out).filter((f) => f.endsWith('.png'));
      return new Uint8Array(await sharp(readFileSync(path.join(out, file!))).removeAlpha().raw().toBuffer());
    };
    try {
      const int8 = await image('int8');
      const info = RuntimeInfoSchema.parse(await runtimeInfo());
      if (info.provider === null) throw new Error(info.error);
      expect(info.parts.unet).toMatchObject({ memory: 'int8' });
      expect(info.parts.vaeDecoder).toMatchObject({ memory: 'speed' });
      const lean = await image('lean');
      const db = psnr8(int8, lean);
      console.log(`int8 txt2img (tiny, 64x64, 3 steps) vs lean: PSNR ${db.toFixed(1)} dB`);
      // The tiny model's random weights make every layer's quantisation error count: 28.7 dB measured.
      expect(db).toBeGreaterThan(25);
    } finally {
      configureSdMemory(undefined);
    }
  });

  it('refuses other values naming the flag', async () => {
    expect(sdMemory(' INT8 ')).toBe('int8');
    expect(() => sdMemory('int4')).toThrow(/--sd-memory: lean, speed or int8 \(got "int4"\)/);
    const code = await main(['run', path.resolve(import.meta.dirname, '../../graphs/txt2img.json'), '--sd-memory', 'int4', '--quiet']);
    expect(code).toBe(1);
    expect(sdMemory()).toBe('lean');
  });
});

// `npm run gpu-check [-- --out FILE] [--tiny-only] [--allow-cpu]`: what this machine's GPU does with
// our graphs, as one table and a JSON file (default gpu-check.json):
//   1. parity of the GPU sessions (fp16 where the provider takes it) against float32 on the CPU for the
//      text encoder, UNet and VAE decoder, on tiny and on an SD1.5-size random checkpoint made on the spot;
//   2. txt2img at 512x512, 20 steps, after one step that makes the sessions: seconds per step, the whole
//      run, the GPU memory peak (nvidia-smi, when there is one), and the final image against the same
//      run in float32 on the CPU (PSNR);
//   2b. the resident step loop (tensors kept on the GPU between steps) against host copies and the host loop, on tiny;
//   3. the CUDA provider the same way in a child process when its binaries are present, else a line;
//   4. one LoRA training step at 512 on the SD1.5-size model (FaceChain's recipe: batch 1, rank 4 on
//      attention, mixed precision on GPUs, the resident loop: LoRA, AdamW moments and gradients kept on the
//      GPU between steps): seconds per step, FaceChain's 800 steps projected, GPU memory peak.
// Without a GPU provider it says so in one line and exits 0 (`--allow-cpu` measures the CPU instead,
// which is how the tests run this script).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sd15 } from '../models/sd/config.ts';
import { sample } from '../models/sd/sample.ts';
import type { SdPart } from '../models/sd/build.ts';
import { loadCheckpointFile, loadSdModel } from '../models/sd/load-model.ts';
import { loraFeeds } from '../models/sd/lora-feeds.ts';
import { PartSession } from '../models/sd/part-session.ts';
import { fusedAttentionCheck } from '../models/sd/attention-fallback.ts';
import type { SdModel } from '../models/sd/sd-model.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { decodeLatents } from '../models/sd/vae-codec.ts';
import { psnr8, relativeError } from '../models/onnx/compare.ts';
import type { HostTensor } from '../models/onnx/index.ts';
import { cudaInstalled, ensureProviderChoice, providerSummary } from '../models/session/providers.ts';
import sharp from 'sharp';
import { writeDataset } from '../models/preprocess/dataset.ts';
import { trainLora } from '../models/train/train-lora.ts';
import { toImage } from '../runtime/image-io.ts';
import type { Image } from '../runtime/values.ts';
import { Rng } from '../runtime/rng.ts';
import { writeRandomCheckpoint } from '../bench/lib/random-checkpoint.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'gpu-check.json' }, 'tiny-only': { type: 'boolean' }, 'allow-cpu': { type: 'boolean' },
    // Set only in the child that renders txt2img's float32 CPU reference (a ReferenceJob as JSON).
    reference: { type: 'string' },
  },
});

type Row = { check: string; result: string; goal?: string; value?: number };
const rows: Row[] = [];
const add = (row: Row) => {
  rows.push(row);
  console.log(`${row.check}: ${row.result}${row.goal ? ` (goal ${row.goal})` : ''}`);
};
/** An 8-bit image against its float32 CPU reference; identical ones have no value (JSON has no Infinity). */
const addPsnr = (check: string, ours: Uint8Array, reference: Uint8Array) => {
  const db = psnr8(ours, reference);
  add({ check, goal: '> 35 dB', ...(Number.isFinite(db) ? { result: `PSNR ${db.toFixed(1)} dB`, value: db } : { result: 'identical' }) });
};

if (args.reference) {
  await writeReferenceImage(JSON.parse(args.reference) as ReferenceJob);
  process.exit(0);
}
const checkStarted = performance.now();
const choice = providerSummary(await ensureProviderChoice());
const refused = choice.refused.map((r) => `${r.provider}: ${r.reason}`).join(', ');
if (choice.provider === 'cpu' && !args['allow-cpu']) {
  console.log(`no GPU: no GPU execution provider works here (${refused})`);
  writeFileSync(args.out, `${JSON.stringify({ gpu: false, ...choice }, null, 2)}\n`);
  process.exit(0);
}

/** Seeded inputs of one part at `side` pixels (latents side / 8), CFG batch 2 for the UNet. */
function feeds(model: SdModel, part: SdPart, side: number): Record<string, HostTensor> {
  const rng = new Rng(11);
  const { config } = model;
  const h = side / 8;
  if (part === 'text') {
    return { input_ids: { dtype: 'int64', dims: [2, 77], data: BigInt64Array.from({ length: 154 }, (_, i) => BigInt(i % 77 < 8 ? (i * 7919) % config.text.vocabSize : 0)) }, ...loraFeeds(model.loraTargets.text) };
  }
  if (part === 'unet') {
    return {
      sample: { dtype: 'float32', dims: [2, 4, h, h], data: rng.fillNormal(new Float32Array(2 * 4 * h * h)) },
      timestep: { dtype: 'float32', dims: [2], data: Float32Array.of(999, 421) },
      context: { dtype: 'float32', dims: [2, 77, config.unet.contextDim], data: rng.fillNormal(new Float32Array(2 * 77 * config.unet.contextDim)) },
      ...loraFeeds(model.loraTargets.unet),
    };
  }
  return { latent: { dtype: 'float32', dims: [1, 4, h, h], data: rng.fillNormal(new Float32Array(4 * h * h)) } };
}

/** The part on the chosen provider against float32 on the CPU, same inputs. */
async function parity(label: string, model: SdModel, side: number): Promise<void> {
  for (const part of ['text', 'unet', 'vaeDecoder'] as const) {
    const graph = model.graph(part);
    const cpu = await PartSession.create('bytes' in graph ? graph.bytes : graph.path, { weightsDir: model.weightsDir, provider: 'cpu' });
    const device = await model.session(part);
    try {
      const input = feeds(model, part, side);
      const [ours, ref] = [await device.run(input), await cpu.run(input)];
      const precision = model.precisions()[part]?.precision;
      const what = `parity ${label} ${part} (${choice.provider} ${precision} vs cpu fp32)`;
      if (part === 'vaeDecoder') {
        addPsnr(what, ours.image.data as Uint8Array, ref.image.data as Uint8Array);
      } else {
        const name = part === 'text' ? 'hidden' : 'eps';
        const e = relativeError(ours[name].data as Float32Array, ref[name].data as Float32Array);
        // Both checkpoints are untrained random weights, which amplify rounding more than trained ones
        // (test/models/sd-fp16.test.ts); float16 on the CPU gave the sd15-size UNet 1.24e-2 (3 Dec).
        add({ check: what, result: `max relative error ${e.toExponential(2)}`, goal: '<= 2e-2', value: e });
      }
    } finally {
      await cpu.release();
    }
  }
  await model.release();
}

/** Peak GPU memory in use while `f` runs, in MiB, from nvidia-smi (undefined without one). */
async function gpuMemoryPeak<T>(f: () => Promise<T>): Promise<[T, number | undefined]> {
  const read = () => {
    try {
      return Number(execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  let peak = read();
  const timer = peak === undefined ? undefined : setInterval(() => (peak = Math.max(peak!, read() ?? 0)), 200);
  try {
    return [await f(), peak];
  } finally {
    clearInterval(timer);
  }
}

/** txt2img's final image: seed 1, the default scheduler; the device run and its CPU reference make the same. */
async function render(model: SdModel, side: number, steps: number, onStep?: () => void): Promise<Image> {
  const latent = await sample(model, { prompt: 'a portrait photo of a person', steps, width: side, height: side, seed: 1 }, { onStep });
  return (await decodeLatents(model, latent))[0]!;
}

/** 'tiny' or a checkpoint file, with `dir` as its models folder. */
function loadSource(source: string, dir: string): Promise<SdModel> {
  return source === 'tiny' ? loadSdModel('tiny', dir) : loadCheckpointFile(source, dir);
}

/** What the reference child renders: `model` is 'tiny' or a checkpoint file, `work` the models folder. */
type ReferenceJob = { model: string; work: string; side: number; steps: number; image: string };

/** The child's work: the final image in float32 on the CPU, its bytes written to `job.image`. */
async function writeReferenceImage(job: ReferenceJob): Promise<void> {
  const model = await loadSource(job.model, job.work);
  writeFileSync(job.image, (await render(model, job.side, job.steps)).data);
  await model.release();
}

/** `source` ('tiny' or a checkpoint file) rendered, timed, and its final image against float32 on the CPU. */
async function txt2img(source: string, side: number, steps: number): Promise<void> {
  const model = await loadSource(source, work);
  // One step first makes the sessions (and on WebGPU compiles the shaders), which the goal leaves out.
  const warming = performance.now();
  await render(model, side, 1);
  const warmup = (performance.now() - warming) / 1000;
  const stepTimes: number[] = [];
  const started = performance.now();
  let last = started;
  const [image, peak] = await gpuMemoryPeak(() =>
    render(model, side, steps, () => {
      const now = performance.now();
      stepTimes.push(now - last);
      last = now;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const median = [...stepTimes].sort((a, b) => a - b)[stepTimes.length >> 1]! / 1000;
  const what = `txt2img ${model.config.name} ${side}x${side}, ${steps} steps`;
  add({ check: `${what}: sessions made and one step run first (s)`, result: `${warmup.toFixed(1)} s`, value: warmup });
  add({ check: `${what}: seconds per step (median)`, result: `${median.toFixed(3)} s`, value: median });
  add({ check: `${what}: whole run (text encoder and VAE included)`, result: `${seconds.toFixed(2)} s`, ...(side === 512 && steps === 20 ? { goal: choice.provider === 'cuda' ? '< 1.5 s' : '< 2 s' } : {}), value: seconds });
  add({ check: 'GPU memory peak (nvidia-smi)', result: peak === undefined ? 'unknown (no nvidia-smi)' : `${peak} MiB`, ...(peak === undefined ? {} : { value: peak }) });
  const precision = model.precisions().unet?.precision;
  await model.release();

  // The same run in float32 on the CPU, in a child process (the provider is chosen once per process).
  const job: ReferenceJob = { model: source, work, side, steps, image: path.join(work, `reference-${side}.rgb`) };
  const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--reference', JSON.stringify(job)], {
    stdio: 'inherit', env: { ...process.env, FACECHAIN_EP: 'cpu', FACECHAIN_PRECISION: 'fp32' },
  });
  const check = `${what}: final image (${choice.provider} ${precision} vs cpu fp32)`;
  if (child.status !== 0) return add({ check, result: `the reference failed (exit ${child.status})` });
  addPsnr(check, image.data, readFileSync(job.image));
}

/**
 * The resident step loop (latents, embeddings and LoRA A/B kept on the GPU between steps, the GPU
 * default) against the same graphs with host copies in between, and against the host loop.
 */
async function residentLoop(model: SdModel): Promise<void> {
  const p = { prompt: 'a portrait photo of a person', steps: 4, width: 64, height: 64, seed: 3, scheduler: 'dpmpp_2m_karras' as const };
  const [resident, copied, host] = [
    await sample(model, p, { loop: 'resident' }), await sample(model, p, { loop: 'resident-copied' }), await sample(model, p, { loop: 'host' }),
  ];
  const scale = Math.max(...host.data.map(Math.abs));
  const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k]!)), 0) / scale;
  const [vsCopied, vsHost] = [diff(resident.data, copied.data), diff(resident.data, host.data)];
  add({ check: `resident loop ${model.config.name}: vs host copies of the same graphs (max difference / max value)`, result: vsCopied.toExponential(2), value: vsCopied });
  add({ check: `resident loop ${model.config.name}: vs the host loop (max difference / max value)`, result: vsHost.toExponential(2), value: vsHost });
}

/** A few LoRA training steps at `side` px with FaceChain's settings: seconds per step after the first, 800 projected. */
async function trainingStep(model: SdModel, side: number, steps: number): Promise<void> {
  const images = await Promise.all(['#c96', '#69c'].map((c) => toImage(sharp({ create: { width: side, height: side, channels: 3, background: c } }).removeAlpha())));
  const dir = path.join(work, `train-${side}`);
  mkdirSync(dir, { recursive: true });
  const dataset = await writeDataset(dir, images.map((image, i) => ({ image, photo: `p${i}.png`, text: '<fcsks>, a person' })), { token: '<fcsks>', subject: 'a person' });
  const times: number[] = [];
  const started = performance.now();
  // The default loop: resident (LoRA, AdamW moments and gradients kept on the device between steps).
  const [result, peak] = await gpuMemoryPeak(() => trainLora(model, dataset, { resolution: side, steps, batch: 1 }, { onStep: () => void times.push(performance.now()) }));
  const step = times.length > 1 ? [...times.slice(1).map((t, k) => t - times[k]!)].sort((a, b) => a - b)[(times.length - 1) >> 1]! / 1000 : Number.NaN;
  const first = ((times[0] ?? started) - started) / 1000;
  const what = `training ${model.config.name} ${side}x${side}, batch 1, rank 4 attention, ${result.loop} loop`;
  add({ check: `${what}: seconds per step (median after the first)`, result: `${step.toFixed(3)} s`, ...(side === 512 ? { goal: '< 0.5 s' } : {}), value: step });
  add({ check: `${what}: first step, graphs built (s)`, result: `${first.toFixed(1)} s`, value: first });
  add({ check: `${what}: FaceChain's 800 steps projected`, result: `${((800 * step) / 60).toFixed(1)} min`, value: 800 * step });
  add({ check: `${what}: GPU memory peak (nvidia-smi)`, result: peak === undefined ? 'unknown (no nvidia-smi)' : `${peak} MiB`, ...(side === 512 ? { goal: '< 12 GB' } : {}), ...(peak === undefined ? {} : { value: peak }) });
  await model.release();
}

const work = path.join(os.tmpdir(), `facechain-gpu-check-${process.pid}`);
mkdirSync(work, { recursive: true });
try {
  console.log(`provider: ${choice.provider}${refused ? ` (${refused})` : ''}, ${os.cpus().length} CPUs`);
  const attention = await fusedAttentionCheck();
  add({
    check: `fused attention (com.microsoft MultiHeadAttention) on ${attention.provider} vs cpu`,
    result: attention.error === undefined ? 'the reference' : `max abs difference ${attention.error.toExponential(2)}: ${attention.fused ? 'used' : 'wrong here, standard ops used instead'}`,
    ...(attention.error === undefined ? {} : { value: attention.error }),
  });
  const tiny = await loadSdModel('tiny', work);
  await parity('tiny', tiny, 64);
  await residentLoop(tiny);
  if (!args['tiny-only']) {
    const file = path.join(work, 'sd15-f16.safetensors');
    writeFileSync(path.join(work, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
    await writeRandomCheckpoint(file, sd15, 'float16');
    await parity('sd15', await loadCheckpointFile(file, work), 256);
    await txt2img(file, 512, 20);
    await trainingStep(await loadCheckpointFile(file, work), 512, 4);
  } else {
    await txt2img('tiny', 64, 4);
    await trainingStep(await loadSdModel('tiny', work), 64, 3);
  }
  if (choice.provider !== 'cuda') {
    if (!cudaInstalled()) add({ check: 'cuda', result: 'not installed (see the README on enabling CUDA)' });
    else {
      const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--out', `${args.out}.cuda.json`, ...(args['tiny-only'] ? ['--tiny-only'] : [])], { stdio: 'inherit', env: { ...process.env, FACECHAIN_EP: 'cuda' } });
      add({ check: 'cuda', result: child.status === 0 ? `measured: ${args.out}.cuda.json` : `failed (exit ${child.status})` });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const minutes = (performance.now() - checkStarted) / 60_000;
add({ check: 'the whole check', result: `${minutes.toFixed(1)} min`, ...(args['tiny-only'] ? {} : { goal: '< 8 min' }), value: minutes });
console.log(`\n| check | result | goal |\n|---|---|---|\n${rows.map((r) => `| ${r.check} | ${r.result} | ${r.goal ?? ''} |`).join('\n')}`);
writeFileSync(args.out, `${JSON.stringify({ gpu: choice.provider !== 'cpu', ...choice, cpus: os.cpus().length, rows }, null, 2)}\n`);

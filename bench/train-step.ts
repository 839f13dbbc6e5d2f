// One LoRA training step of the tiny UNet (forward + backward + AdamW), our ORT gradient graph against
// the same architecture, weights, batch and LoRA in PyTorch (bench/torch/train_step.py, Debian's
// python3-torch, installed here when missing). Goal: ours not slower than PyTorch on CPU. Each side runs
// in its own process (peak RSS separable); the first step's loss and gradient norm on identical inputs
// show that both compute the same thing. Rounds alternate the sides so drift in machine load hits both.
// opt-in: runs PyTorch beside ours (installs python3-torch when missing) and takes minutes
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { addMseLoss, buildGradientGraph, gradName } from '../models/onnx/grad/index.ts';
import { AdamW } from '../models/train/optimizer.ts';
import { probeShapes } from '../models/train/probe.ts';
import { encodeModel, type HostTensor } from '../models/onnx/index.ts';
import { readSafetensors, writeSafetensors } from '../models/safetensors.ts';
import { buildPart } from '../models/sd/build.ts';
import { LDM_PREFIX } from '../models/sd/checkpoint-names.ts';
import { tiny } from '../models/sd/config.ts';
import { loraInputNames, type LoraTarget } from '../models/sd/lora-targets.ts';
import { PartSession } from '../models/sd/part-session.ts';
import { TensorWeights } from '../models/sd/tensor-weights.ts';
import { randomWeights } from '../models/sd/tiny-weights.ts';
import { selectTargets } from '../models/train/lora-params.ts';
import { Rng } from '../runtime/rng.ts';
import { tempDir } from '../test/helpers/temp.ts';
import { ensureTorch, PYTHON } from './lib/torch.ts';

// train-lora.ts's defaults: attention targets, rank 4, alpha 32, AdamW with decay 1e-2 and clipping at 1.
const RANK = 4;
const ALPHA = 32;
const SCALE = ALPHA / RANK;
const LR = 1.5e-4;
const WEIGHT_DECAY = 1e-2;
const MAX_GRAD_NORM = 1;
const BATCH = 4;
const TOKENS = tiny.text.contextTokens;
const SIDES = [8, 32];
const THREADS = availableParallelism();
const WARMUP = 3;
const STEPS = 15;
const ROUNDS = 2;
/** Relative difference allowed between the two sides' first-step loss and gradient norm (float32, other op order). */
const TOLERANCE = 1e-4;

interface SideResult {
  firstLoss: number;
  firstGradNorm: number;
  ms: number[];
  rssLoadedKb: number;
  peakRssKb: number;
  version?: string;
  blas?: string;
}

/** The training graph exactly as trainLora builds it, fed the inputs file's tensors; prints a SideResult. */
async function ours(weightsFile: string, inputsFile: string): Promise<void> {
  const rssLoadedKb = process.resourceUsage().maxRSS;
  const { tensors: weights } = await readSafetensors(weightsFile);
  const { tensors: inputs } = await readSafetensors(inputsFile);
  const built = buildPart(tiny, 'unet', new TensorWeights(weights), { attention: 'decomposed' });
  const b = built.builder;
  addMseLoss(b, { name: 'eps', dtype: 'float32' }, b.input('target', 'float32', ['batch', tiny.unet.inChannels, 'height', 'width']));
  const forward = b.toModel();
  const trained = selectTargets(built.loraTargets, 'attention');
  const trainedNames = new Set(trained.map((t) => t.name));
  const input = (name: string): HostTensor => {
    const t = inputs.get(name);
    if (!t) throw new Error(`${inputsFile} has no ${name}`);
    return t;
  };
  // Targets not trained get rank-0 branches, as in trainLora.
  const feeds: Record<string, HostTensor> = {
    sample: input('sample'), timestep: input('timestep'), context: input('context'), target: input('target'),
  };
  for (const t of built.loraTargets) {
    if (trainedNames.has(t.name)) continue;
    const n = loraInputNames(t);
    feeds[n.a] = { dtype: 'float32', dims: [t.in, 0], data: new Float32Array(0) };
    feeds[n.b] = { dtype: 'float32', dims: [0, t.out], data: new Float32Array(0) };
  }
  const values = new Map<string, Float32Array>();
  const scaledB = new Map<string, Float32Array>();
  for (const t of trained) {
    const n = loraInputNames(t);
    values.set(n.a, new Float32Array(input(n.a).data as Float32Array));
    values.set(n.b, new Float32Array(input(n.b).data as Float32Array));
    scaledB.set(n.b, new Float32Array(RANK * t.out));
    feeds[n.a] = { dtype: 'float32', dims: [t.in, RANK], data: values.get(n.a)! };
    feeds[n.b] = { dtype: 'float32', dims: [RANK, t.out], data: scaledB.get(n.b)! };
  }
  const trainable = [...values.keys()];
  const infos = await probeShapes(forward, feeds);
  const training = await PartSession.create(encodeModel(buildGradientGraph(forward, { loss: 'loss', trainable, infos })), { threads: THREADS });
  const optimiser = await AdamW.create(
    trainable.map((name) => ({ name, dims: [...input(name).dims] })),
    { weightDecay: WEIGHT_DECAY, maxGradNorm: MAX_GRAD_NORM },
    { intraOpNumThreads: THREADS },
  );
  const step = async () => {
    for (const [name, bs] of scaledB) {
      const v = values.get(name)!;
      for (let i = 0; i < bs.length; i++) bs[i] = v[i]! * SCALE;
    }
    const out = await training.run(feeds);
    for (const name of scaledB.keys()) {
      const g = out[gradName(name)]!.data as Float32Array;
      for (let i = 0; i < g.length; i++) g[i]! *= SCALE;
    }
    const gradNorm = await optimiser.update(values, out, LR);
    return { loss: (out.loss!.data as Float32Array)[0], gradNorm };
  };
  const first = await step();
  for (let i = 1; i < WARMUP; i++) await step();
  const ms: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await step();
    ms.push(performance.now() - t0);
  }
  await training.release();
  await optimiser.release();
  const result: SideResult = { firstLoss: first.loss!, firstGradNorm: first.gradNorm, ms, rssLoadedKb, peakRssKb: process.resourceUsage().maxRSS };
  console.log(JSON.stringify(result));
}

/** Runs one side in its own process; its last stdout line is its SideResult. */
function runSide(label: string, command: string, args: string[], env?: Record<string, string>): SideResult {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${label} side exited ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as SideResult;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

async function main(): Promise<void> {
  const dir = tempDir('train-step');
  try {
    const weights = new Map([...randomWeights(tiny, 1)].filter(([k]) => k.startsWith(LDM_PREFIX.unet)));
    const weightsFile = path.join(dir, 'unet.safetensors');
    await writeSafetensors(weightsFile, weights);
    const built = buildPart(tiny, 'unet', new TensorWeights(weights), { attention: 'decomposed' });
    const trained: LoraTarget[] = selectTargets(built.loraTargets, 'attention');
    const skipTorch = ensureTorch();
    if (skipTorch) console.log(`PyTorch side skipped: ${skipTorch}`);

    const rows: string[][] = [];
    let disagreement = false;
    for (const side of SIDES) {
      const rng = new Rng(side);
      const normal = (dims: number[], scale = 1): HostTensor => {
        const data = rng.fillNormal(new Float32Array(dims.reduce((a, d) => a * d, 1)));
        for (let i = 0; i < data.length; i++) data[i]! *= scale;
        return { dtype: 'float32', dims, data };
      };
      const plane = [BATCH, tiny.unet.inChannels, side, side];
      const inputs: Record<string, HostTensor> = {
        sample: normal(plane),
        timestep: { dtype: 'float32', dims: [BATCH], data: Float32Array.from({ length: BATCH }, () => rng.int(1000)) },
        context: normal([BATCH, TOKENS, tiny.unet.contextDim]),
        target: normal(plane),
      };
      // A as trainLora initialises it; B not zero (as it is at the start of training) so the loss
      // check covers the LoRA branches and dL/dA is not zero.
      for (const t of trained) {
        const n = loraInputNames(t);
        const bound = 1 / Math.sqrt(t.in);
        inputs[n.a] = { dtype: 'float32', dims: [t.in, RANK], data: Float32Array.from({ length: t.in * RANK }, () => rng.range(-bound, bound)) };
        inputs[n.b] = normal([RANK, t.out], 0.01);
      }
      const inputsFile = path.join(dir, `inputs-${side}.safetensors`);
      await writeSafetensors(inputsFile, inputs, {
        config: JSON.stringify(tiny.unet),
        targets: JSON.stringify(trained.map((t) => ({ name: t.name, module: t.module }))),
        scale: String(SCALE), lr: String(LR), weightDecay: String(WEIGHT_DECAY), maxGradNorm: String(MAX_GRAD_NORM),
      });

      const results: { ours: SideResult[]; torch: SideResult[] } = { ours: [], torch: [] };
      for (let round = 0; round < ROUNDS; round++) {
        results.ours.push(runSide('ours', process.execPath, ['--import', 'tsx', import.meta.filename, '--ours', weightsFile, inputsFile]));
        if (!skipTorch) {
          results.torch.push(runSide('torch', PYTHON, [path.join(import.meta.dirname, 'torch', 'train_step.py'), weightsFile, inputsFile, String(THREADS), String(WARMUP), String(STEPS)],
            { OMP_NUM_THREADS: String(THREADS), OPENBLAS_NUM_THREADS: String(THREADS) }));
        }
      }
      const o = results.ours;
      const oursMs = median(o.flatMap((r) => r.ms))!;
      const oursRss = `${mb(Math.max(...o.map((r) => r.peakRssKb)))} (runtime ${mb(o[0]!.rssLoadedKb)})`;
      if (skipTorch) {
        rows.push([`${side}x${side}`, oursMs.toFixed(1), '-', '-', oursRss, '-', `${o[0]!.firstLoss.toFixed(6)} / -`, '-']);
        continue;
      }
      const t = results.torch;
      const torchMs = median(t.flatMap((r) => r.ms))!;
      const dLoss = relDiff(o[0]!.firstLoss, t[0]!.firstLoss);
      const dNorm = relDiff(o[0]!.firstGradNorm, t[0]!.firstGradNorm);
      const agree = dLoss <= TOLERANCE && dNorm <= TOLERANCE;
      disagreement ||= !agree;
      const ratio = oursMs / torchMs;
      rows.push([
        `${side}x${side}`, oursMs.toFixed(1), torchMs.toFixed(1), `${ratio.toFixed(2)} ${ratio <= 1 ? 'OK' : 'MISSED'}`,
        oursRss, `${mb(Math.max(...t.map((r) => r.peakRssKb)))} (runtime ${mb(t[0]!.rssLoadedKb)})`,
        `${o[0]!.firstLoss.toFixed(6)} / ${t[0]!.firstLoss.toFixed(6)} (${dLoss.toExponential(1)})`,
        `${dNorm.toExponential(1)} ${agree ? 'OK' : 'DIFFERENT'}`,
      ]);
      if (side === SIDES[0]) console.log(`torch ${t[0]!.version}, BLAS ${t[0]!.blas}`);
    }

    console.log(`tiny UNet LoRA training step (forward + backward + AdamW; rank ${RANK}, ${trained.length} attention targets, batch ${BATCH}, ${TOKENS} tokens, ${THREADS} threads each side; median of ${ROUNDS}x${STEPS} steps; goal: ratio ours/torch <= 1)`);
    const head = ['latent', 'ours ms/step', 'torch ms/step', 'ours/torch', 'ours peak RSS', 'torch peak RSS', 'step-1 loss ours / torch (rel. diff)', `grad-norm rel. diff (tol ${TOLERANCE})`];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, widths.map((w) => '-'.repeat(w)), ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join(' | '));
    // Timings of two different computations would mean nothing.
    if (disagreement) {
      console.log('the two sides do not compute the same step: the comparison is void');
      process.exitCode = 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--ours') await ours(process.argv[3]!, process.argv[4]!);
else await main();

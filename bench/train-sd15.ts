// One face-LoRA training step (forward, backward) of the full-size SD1.5 UNet on synthetic fp16 weights
// (bench/lib/sd15-weights.ts): batch 1, rank 4 LoRA on the attention q/k/v/out with FaceChain's scale 1,
// the graphs the trainer builds (models/train/step-graphs.ts), at 256 and 512 px, with and without
// recompute (gradient checkpointing per UNet block, attention heads one at a time), and the same step in
// PyTorch (bench/torch/train_sd15.py: Debian's torch, fp32, same weights, inputs and LoRA; with and
// without torch.utils.checkpoint) as the anchor. Each configuration runs in its own process so its peak
// RSS (VmHWM) is its own; RSS after creating the sessions is the frozen weights' share. Both sides print
// the loss and the LoRA gradients' norm: equal figures show they computed the same step. Goal: a 512 px
// step under 10 GB peak RSS. Prints the projected time of FaceChain's 800 steps and the load average
// (the machine is shared; seconds scale with it).
// `TRAIN_SD15=512` (or `256`, `512,256`) picks the sizes; `TRAIN_SD15_RUN=ours-on,torch-off` picks configurations
// (ours-on, ours-off, torch-on, torch-off; `512:torch-on` runs at that size only); `TRAIN_SD15_STEPS`
// (default 2) steps per configuration, the last one timed; `TRAIN_SD15_CONFIG=tiny` runs the tiny
// architecture. Recompute's segment sessions (~600 at SD1.5 size) share one worker thread.
// opt-in: about an hour and up to 10+ GB on 2 cores
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../models/safetensors.ts';
import type { HostTensor } from '../models/onnx/index.ts';
import { buildPart } from '../models/sd/build.ts';
import { LDM_PREFIX } from '../models/sd/checkpoint-names.ts';
import { sd15, tiny } from '../models/sd/config.ts';
import { ExternalWeights } from '../models/sd/external-weights.ts';
import { checkpointIndex } from '../models/sd/load-model.ts';
import { randomWeights } from '../models/sd/tiny-weights.ts';
import { loraFeeds, type LoraBranch } from '../models/sd/lora-feeds.ts';
import { loraInputNames } from '../models/sd/lora-targets.ts';
import { addMseLoss } from '../models/onnx/grad/index.ts';
import { selectTargets } from '../models/train/lora-params.ts';
import { trainingRunner, unetBlock, unetSegment } from '../models/train/step-graphs.ts';
import { Rng } from '../runtime/rng.ts';
import { removeTempDirs, tempDir } from '../test/helpers/temp.ts';
import { removeIfCreated, sd15Weights } from './lib/sd15-weights.ts';
import { ensureTorch, PYTHON } from './lib/torch.ts';

const ON_TINY = process.env.TRAIN_SD15_CONFIG === 'tiny';
const CONFIG = ON_TINY ? tiny : sd15;
const RANK = 4;
const STEPS = Number(process.env.TRAIN_SD15_STEPS ?? 2);
const RUNS = (process.env.TRAIN_SD15_RUN ?? 'ours-on,ours-off,torch-on,torch-off').split(',');

/** What a configuration's process prints (both sides). */
interface StepResult {
  loss: number;
  gradNorm: number;
  /** The last step's seconds (the first also allocates). */
  stepS: number;
  firstStepS: number;
  /** RSS once the weights are loaded / the sessions created. */
  loadedRssMb: number;
  /** Peak RSS before the steps (ours: the build, its shape probe included). */
  loadPeakMb: number;
  /** Peak RSS during the steps. */
  peakRssMb: number;
  createS?: number;
  version?: string;
  blas?: string;
}

const memory = (field: 'VmHWM' | 'VmRSS') => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]) / 1024;

/** The UNet weights file (external data for ours, read by torch) and the folder it is in. */
async function weightsFile(): Promise<{ dir: string; file: string; done(): void }> {
  if (!ON_TINY) {
    const w = await sd15Weights();
    return { dir: w.dir, file: w.file, done: () => removeIfCreated(w) };
  }
  const dir = tempDir('train-sd15');
  await writeSafetensors(path.join(dir, 'tiny.safetensors'), new Map([...randomWeights(tiny, 1)].filter(([k]) => k.startsWith(LDM_PREFIX.unet))));
  return { dir, file: 'tiny.safetensors', done: () => {} };
}

async function unetPart(dir: string, file: string) {
  const weights = new ExternalWeights(checkpointIndex(await readSafetensorsHeader(path.join(dir, file)), file));
  return buildPart(CONFIG, 'unet', weights, { attention: 'decomposed', headsPerGroup: 1 });
}

/** One step's inputs for both sides: noised latent, timestep, context, noise target, LoRA A and B. */
async function writeInputs(file: string, px: number, dir: string, weights: string): Promise<void> {
  const part = await unetPart(dir, weights);
  const trained = selectTargets(part.loraTargets, 'attention');
  const rng = new Rng(px);
  const normal = (dims: number[], scale = 1): HostTensor => ({ dtype: 'float32', dims, data: rng.fillNormal(new Float32Array(dims.reduce((a, d) => a * d, 1))).map((v) => v * scale) });
  const side = px / 8;
  const inputs: Record<string, HostTensor> = {
    sample: normal([1, 4, side, side]),
    timestep: { dtype: 'float32', dims: [1], data: Float32Array.of(500) },
    context: normal([1, CONFIG.text.contextTokens, CONFIG.unet.contextDim]),
    target: normal([1, 4, side, side]),
  };
  // Down N(0, 1/rank) as the trainer starts; up small but not zero, as after some steps.
  for (const t of trained) {
    const n = loraInputNames(t);
    inputs[n.a] = normal([t.in, RANK], 1 / RANK);
    inputs[n.b] = normal([RANK, t.out], 1e-3);
  }
  await writeSafetensors(file, inputs, {
    config: JSON.stringify(CONFIG.unet),
    targets: JSON.stringify(trained.map((t) => ({ name: t.name, module: t.module }))),
    scale: '1',
  });
}

/** Our side: the trainer's graphs on the weights file `dir/file`, fed the inputs file. */
async function ours(recompute: boolean, inputsFile: string, dir: string, file: string): Promise<StepResult> {
  const part = await unetPart(dir, file);
  addMseLoss(part.builder, { name: 'eps', dtype: 'float32' }, part.builder.input('target', 'float32', ['batch', 4, 'height', 'width']));
  const { tensors: inputs } = await readSafetensors(inputsFile);
  const trained = selectTargets(part.loraTargets, 'attention');
  const branches = new Map<string, LoraBranch>(trained.map((t) => {
    const n = loraInputNames(t);
    return [t.name, { rank: RANK, a: inputs.get(n.a)!.data as Float32Array, b: inputs.get(n.b)!.data as Float32Array }];
  }));
  const feeds = {
    sample: inputs.get('sample')!, timestep: inputs.get('timestep')!, context: inputs.get('context')!, target: inputs.get('target')!,
    ...loraFeeds(part.loraTargets, branches),
  };
  const trainable = trained.flatMap((t) => Object.values(loraInputNames(t)));
  let t = performance.now();
  const runner = await trainingRunner(dir, part.builder.toModel(), trainable, feeds, { probe: unetBlock, recompute: recompute ? unetSegment : undefined });
  const createS = (performance.now() - t) / 1000;
  const loadedRssMb = memory('VmRSS');
  const loadPeakMb = memory('VmHWM');
  // Reset the peak (Linux: 5 to clear_refs), so the step's own peak is measured apart from the build's.
  writeFileSync('/proc/self/clear_refs', '5');
  const times: number[] = [];
  let out: Record<string, HostTensor> = {};
  for (let i = 0; i < STEPS; i++) {
    t = performance.now();
    out = await runner.run(feeds);
    times.push((performance.now() - t) / 1000);
  }
  await runner.release();
  let sq = 0;
  for (const name of trainable) for (const g of out[`grad.${name}`]!.data as Float32Array) sq += g * g;
  return {
    loss: (out.loss!.data as Float32Array)[0]!, gradNorm: Math.sqrt(sq), stepS: times.at(-1)!, firstStepS: times[0]!,
    loadedRssMb, loadPeakMb, peakRssMb: memory('VmHWM'), createS,
  };
}

// A configuration that would take the shared machine's memory is stopped rather than left to the OOM killer.
const LIMIT_GB = Number(process.env.TRAIN_SD15_LIMIT_GB ?? 14);

function watched(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; killed: boolean }> {
  const proc = spawn(command, args);
  let [stdout, stderr, killed] = ['', '', false];
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  // The child and anything it starts.
  const timer = setInterval(() => {
    const rss = treeRssMb(proc.pid!);
    if (rss > LIMIT_GB * 1024) {
      killed = true;
      proc.kill('SIGKILL');
    }
  }, 500);
  return new Promise((resolve) => proc.on('close', (status) => {
    clearInterval(timer);
    resolve({ status, stdout, stderr, killed });
  }));
}

function treeRssMb(pid: number): number {
  let total = 0;
  const walk = (p: number) => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) walk(Number(c));
    } catch {
      // The process ended meanwhile.
    }
  };
  walk(pid);
  return total;
}

const gib = (mb: number) => `${(mb / 1024).toFixed(2)} GiB`;
const load = () => os.loadavg()[0]!.toFixed(1);

/** Runs one configuration in its own process; its StepResult, or undefined after saying why not. */
async function configuration(label: string, command: string, args: string[]): Promise<StepResult | undefined> {
  const loadBefore = load();
  const r = await watched(command, args);
  const loads = `load average ${loadBefore}-${load()}`;
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.killed) {
    console.log(`${label}: stopped at ${LIMIT_GB} GiB RSS (the machine is shared; ${loads})`);
    return undefined;
  }
  if (r.status !== 0 || !line.startsWith('{')) {
    console.log(`${label}: failed (exit ${r.status}) ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return undefined;
  }
  const res = JSON.parse(line) as StepResult;
  console.log(
    `${label}: step ${res.stepS.toFixed(1)} s (first ${res.firstStepS.toFixed(1)} s), peak RSS of the steps ${gib(res.peakRssMb)} ` +
      `(${gib(res.loadedRssMb)} after ${res.createS === undefined ? 'loading the weights' : `creating the sessions in ${res.createS.toFixed(0)} s`}, ` +
      `peak ${gib(res.loadPeakMb)} by then), loss ${res.loss.toFixed(6)}, LoRA gradient norm ${res.gradNorm.toExponential(4)}, ${loads}` +
      (res.version ? `; torch ${res.version}${res.blas?.includes('openblas') ? ', OpenBLAS' : `, BLAS: ${res.blas}`}` : ''),
  );
  return res;
}

if (process.argv[2] === 'child') {
  const [recompute, inputs, dir, file] = process.argv.slice(3);
  console.log(JSON.stringify(await ours(recompute === '1', inputs!, dir!, file!)));
} else {
  const weights = await weightsFile();
  const sizes = (process.env.TRAIN_SD15 ?? '256,512').split(',').map(Number);
  const skipTorch = RUNS.some((r) => r.includes('torch')) ? ensureTorch() : undefined;
  if (skipTorch) console.log(`PyTorch side skipped: ${skipTorch}`);
  const inputsDir = tempDir('train-sd15-inputs');
  const results = new Map<string, StepResult>();
  for (const px of sizes) {
    const inputs = path.join(inputsDir, `inputs-${px}.safetensors`);
    await writeInputs(inputs, px, weights.dir, weights.file);
    for (const entry of RUNS) {
      const [at, run] = entry.includes(':') ? entry.split(':') : [String(px), entry];
      if (Number(at) !== px) continue;
      const [side, on] = [run!.split('-')[0], run!.endsWith('-on')];
      let r: StepResult | undefined;
      if (side === 'ours') {
        r = await configuration(`${px} px, ours, recompute ${on ? 'on' : 'off'}`, process.execPath, ['--import', 'tsx', import.meta.filename, 'child', on ? '1' : '0', inputs, weights.dir, weights.file]);
      } else if (!skipTorch) {
        const script = path.join(import.meta.dirname, 'torch', 'train_sd15.py');
        r = await configuration(`${px} px, PyTorch, checkpointing ${on ? 'on' : 'off'}`, PYTHON, [script, path.join(weights.dir, weights.file), inputs, String(os.availableParallelism()), on ? '1' : '0', String(STEPS)]);
      }
      if (r) results.set(`${px}:${run}`, r);
    }
    const [a, b] = [results.get(`${px}:ours-on`) ?? results.get(`${px}:ours-off`), results.get(`${px}:torch-on`) ?? results.get(`${px}:torch-off`)];
    if (a && b) console.log(`${px} px, ours vs PyTorch: loss differs by ${(Math.abs(a.loss - b.loss) / Math.abs(b.loss)).toExponential(1)}, gradient norm by ${(Math.abs(a.gradNorm - b.gradNorm) / b.gradNorm).toExponential(1)} (relative)`);
  }
  const at512 = results.get('512:ours-on');
  if (at512) {
    console.log(`${CONFIG.name}, 512 px step with recompute: peak RSS ${gib(at512.peakRssMb)} (goal < 10 GB on sd15) ${at512.peakRssMb * 2 ** 20 < 10e9 ? 'OK' : 'MISSED'}`);
    console.log(`${CONFIG.name}, FaceChain's 800 steps at 512 px, batch 1, on this machine: about ${((800 * at512.stepS) / 3600).toFixed(1)} h at load average ${load()} (plus AdamW, negligible at rank 4)`);
  }
  weights.done();
  removeTempDirs();
}

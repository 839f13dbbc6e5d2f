// One face-LoRA training step (forward, backward) of the full-size SD1.5 UNet on synthetic fp16 weights
// (bench/lib/sd15-weights.ts): batch 1, rank 4 LoRA on the attention q/k/v/out (FaceChain's recipe), the graphs
// the trainer builds (models/train/step-graphs.ts), at 256 and 512 px, with and without recompute
// (gradient checkpointing per UNet block) and attention heads one at a time. Each configuration runs in
// its own process so its peak RSS (VmHWM) is its own; RSS after session creation is the frozen weights'
// share. Goal: a 512 px step under 10 GB peak RSS. Prints the projected time of FaceChain's 800 steps.
// `TRAIN_SD15=256` (or `512`) runs one size only; `TRAIN_SD15_CONFIG=tiny` runs the tiny architecture.
// opt-in: about 15 minutes and up to 10+ GB on 2 cores
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { addMseLoss } from '../models/onnx/grad/index.ts';
import { buildPart } from '../models/sd/build.ts';
import { LDM_PREFIX } from '../models/sd/checkpoint-names.ts';
import { sd15, tiny } from '../models/sd/config.ts';
import { TensorWeights } from '../models/sd/tensor-weights.ts';
import { randomWeights } from '../models/sd/tiny-weights.ts';
import { loraFeeds, type LoraBranch } from '../models/sd/lora-feeds.ts';
import { loraInputNames } from '../models/sd/lora-targets.ts';
import { selectTargets } from '../models/train/lora-params.ts';
import { trainingRunner, unetBlock, unetSegment } from '../models/train/step-graphs.ts';
import { Rng } from '../runtime/rng.ts';
import { removeIfCreated, sd15Weights } from './lib/sd15-weights.ts';

interface Result {
  px: number;
  recompute: boolean;
  createS: number;
  stepS: number;
  weightsRssMb: number;
  /** Peak while building the graphs (the shape probe runs one forward pass). */
  createPeakMb: number;
  /** Peak during the two steps. */
  peakRssMb: number;
  loss: number;
}

const memory = (field: 'VmHWM' | 'VmRSS') => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]) / 1024;

async function child(px: number, recompute: boolean): Promise<Result> {
  // TRAIN_SD15_CONFIG=tiny: the same measurement on the tiny architecture with random weights in
  // memory, a quick check of what recompute saves that needs neither the big file nor much memory.
  const onTiny = process.env.TRAIN_SD15_CONFIG === 'tiny';
  const { dir, weights } = onTiny
    ? { dir: undefined, weights: new TensorWeights(new Map([...randomWeights(tiny, 1)].filter(([k]) => k.startsWith(LDM_PREFIX.unet)))) }
    : await sd15Weights();
  const config = onTiny ? tiny : sd15;
  const side = px / 8;
  const part = buildPart(config, 'unet', weights, { attention: 'decomposed', headsPerGroup: 1 });
  addMseLoss(part.builder, { name: 'eps', dtype: 'float32' }, part.builder.input('target', 'float32', ['batch', 4, 'height', 'width']));
  const rng = new Rng(1);
  const trained = selectTargets(part.loraTargets, 'attention');
  const rank = 4;
  // Down N(0, 1/rank) as the trainer starts; up small but not zero, as after some steps.
  const branches = new Map<string, LoraBranch>(trained.map((t) => [t.name, {
    rank, a: rng.fillNormal(new Float32Array(t.in * rank)).map((v) => v / rank), b: rng.fillNormal(new Float32Array(rank * t.out)).map((v) => v * 1e-3),
  }]));
  const plane = 4 * side * side;
  const feeds = {
    sample: { dtype: 'float32' as const, dims: [1, 4, side, side], data: rng.fillNormal(new Float32Array(plane)) },
    timestep: { dtype: 'float32' as const, dims: [1], data: Float32Array.of(500) },
    context: { dtype: 'float32' as const, dims: [1, 77, config.unet.contextDim], data: rng.fillNormal(new Float32Array(77 * config.unet.contextDim)) },
    target: { dtype: 'float32' as const, dims: [1, 4, side, side], data: rng.fillNormal(new Float32Array(plane)) },
    ...loraFeeds(part.loraTargets, branches),
  };
  const trainable = trained.flatMap((t) => Object.values(loraInputNames(t)));
  let t = performance.now();
  const runner = await trainingRunner(dir, part.builder.toModel(), trainable, feeds, { probe: unetBlock, recompute: recompute ? unetSegment : undefined });
  const createS = (performance.now() - t) / 1000;
  const weightsRssMb = memory('VmRSS');
  const createPeakMb = memory('VmHWM');
  // Reset the peak (Linux: 5 to clear_refs), so the step's own peak is measured apart from the build's.
  writeFileSync('/proc/self/clear_refs', '5');
  let out = await runner.run(feeds); // the first run allocates and prepacks
  t = performance.now();
  out = await runner.run(feeds);
  const stepS = (performance.now() - t) / 1000;
  await runner.release();
  return { px, recompute, createS, stepS, weightsRssMb, createPeakMb, peakRssMb: memory('VmHWM'), loss: (out.loss.data as Float32Array)[0] };
}

// A configuration that would take the shared machine's memory is stopped rather than left to the OOM killer.
const LIMIT_GB = Number(process.env.TRAIN_SD15_LIMIT_GB ?? 14);

function watched(px: number, recompute: boolean): Promise<{ status: number | null; stdout: string; stderr: string; killed: boolean }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, 'child', String(px), recompute ? '1' : '0']);
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

if (process.argv[2] === 'child') {
  console.log(JSON.stringify(await child(Number(process.argv[3]), process.argv[4] === '1')));
} else {
  const synthetic = process.env.TRAIN_SD15_CONFIG === 'tiny' ? undefined : await sd15Weights();
  const sizes = process.env.TRAIN_SD15 ? [Number(process.env.TRAIN_SD15)] : [256, 512];
  const results: Result[] = [];
  for (const px of sizes) {
    for (const recompute of [true, false]) {
      const r = await watched(px, recompute);
      const line = r.stdout.trim().split('\n').at(-1) ?? '';
      if (r.killed) {
        console.log(`${px} px, recompute ${recompute ? 'on' : 'off'}: stopped at ${LIMIT_GB} GiB RSS (the machine is shared)`);
        continue;
      }
      if (r.status !== 0 || !line.startsWith('{')) {
        console.log(`${px} px, recompute ${recompute ? 'on' : 'off'}: failed (exit ${r.status}) ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
        continue;
      }
      const res = JSON.parse(line) as Result;
      results.push(res);
      console.log(
        `${px} px, recompute ${recompute ? 'on ' : 'off'}: step ${res.stepS.toFixed(1)} s, peak RSS of the steps ${(res.peakRssMb / 1024).toFixed(2)} GiB ` +
          `(${(res.weightsRssMb / 1024).toFixed(2)} GiB after creating the sessions in ${res.createS.toFixed(0)} s, peak ${(res.createPeakMb / 1024).toFixed(2)} GiB by then), loss ${res.loss.toFixed(4)}`,
      );
    }
  }
  const at512 = results.find((r) => r.px === 512 && r.recompute);
  if (at512) {
    console.log(`512 px step with recompute: peak RSS ${(at512.peakRssMb / 1024).toFixed(2)} GiB (goal < 10) ${at512.peakRssMb < 10 * 1024 ? 'OK' : 'MISSED'}`);
    console.log(`FaceChain's 800 steps at 512 px, batch 1, on this machine: about ${((800 * at512.stepS) / 3600).toFixed(1)} h (plus AdamW, negligible at rank 4)`);
  }
  if (synthetic) removeIfCreated(synthetic);
}

// CPU speed and memory of SD1.5 at 512x512 on a random SD1.5-size checkpoint (fp16 and fp32 files):
// session creation per part, UNet step (CFG, batch 2), VAE decode, text encode, the event loop's
// longest stall during a UNet step, and the peak RSS of a whole txt2img run. Each measurement runs
// in a fresh child process, so session creation and peak RSS start from nothing.
// FACECHAIN_SD_MEMORY=speed measures that mode instead (the children inherit it), from the fp16 file
// only: its UNet session takes about a minute to create, and the run should stay within 6 minutes.
// FACECHAIN_SD_MEMORY=int8 measures int8 mode from both files: the UNet session created first
// (quantising into the converted cache) and again from the cache, and the PSNR of its txt2img image
// against lean mode's (same seed, fp16 file).
// Run it under `flock /tmp/facechain-heavy.lock npm run bench -- sd-cpu`.
// opt-in: SD1.5 at full size needs about 6.5 GB of temporary disk (removed afterwards), 5 GB of memory and 10-30 minutes
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { main } from '../cli/main.ts';
import { sd15 } from '../models/sd/config.ts';
import { psnr8 } from '../models/onnx/compare.ts';
import { sdMemory } from '../models/sd/fp16.ts';
import { decodeLatents } from '../models/sd/vae-codec.ts';
import { loadSdModel } from '../models/sd/load-model.ts';
import { loraFeeds } from '../models/sd/lora-feeds.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { sessionThreads } from '../models/session/threads.ts';
import { sha256File } from '../models/store/hash.ts';
import { Rng } from '../runtime/rng.ts';
import { writeRandomCheckpoint } from './lib/random-checkpoint.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FILES = { fp16: 'sd15-f16.safetensors', fp32: 'sd15-f32.safetensors' } as const;
type Precision = keyof typeof FILES;
const seconds = (ms: number) => ms / 1000;

/** Peak resident memory of this process so far (VmHWM), in GB. */
function peakRssGb(): number {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  return (kb * 1024) / 1e9;
}

/** The value, wall ms and process CPU ms (every thread): on a shared machine CPU time is the steadier figure. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number, number]> {
  const t = performance.now();
  const c = process.cpuUsage();
  const value = await f();
  const used = process.cpuUsage(c);
  return [value, performance.now() - t, (used.user + used.system) / 1000];
}

/** Child: each part's session creation and run time for one checkpoint file (wall and CPU ms). */
async function parts(data: string, precision: Precision) {
  let model = await loadSdModel(FILES[precision], path.join(data, 'models'));
  const rng = new Rng(7);
  const [text, textCreate] = await timed(() => model.session('text'));
  const ids = BigInt64Array.from({ length: 2 * 77 }, (_, i) => BigInt(i % 77 === 0 ? 0 : (i * 7919) % 400));
  const [encoded, textEncode, textEncodeCpu] = await timed(() => text.run({ input_ids: { dtype: 'int64', dims: [2, 77], data: ids }, ...loraFeeds(model.loraTargets.text) }));
  await text.release();

  // int8: the first session hashes the checkpoint and quantises into the converted cache (as a first
  // load does: the two overlap); a new model's session reads it from there. Hashing alone is timed
  // afterwards (from the page cache, as in the session).
  let [unetCreateFirst, hashFirst] = [Number.NaN, Number.NaN];
  if (sdMemory() === 'int8') {
    [, unetCreateFirst] = await timed(() => model.session('unet'));
    [, hashFirst] = await timed(() => sha256File(path.join(data, 'models', 'checkpoints', FILES[precision])));
    await model.release();
    model = await loadSdModel(FILES[precision], path.join(data, 'models'));
  }
  const [unet, unetCreate] = await timed(() => model.session('unet'));
  const feeds = {
    sample: { dtype: 'float32' as const, dims: [2, 4, 64, 64], data: rng.fillNormal(new Float32Array(2 * 4 * 64 * 64)) },
    timestep: { dtype: 'float32' as const, dims: [2], data: Float32Array.of(500, 500) },
    context: encoded.hidden!,
    ...loraFeeds(model.loraTargets.unet),
  };
  const [, unetFirst] = await timed(() => unet.run(feeds));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const [out, unetStep, unetStepCpu] = await timed(() => unet.run(feeds));
  loop.disable();
  if (!(out.eps!.data as Float32Array).every(Number.isFinite)) throw new Error('UNet output has non-finite values');
  await unet.release();

  const [, vaeCreate] = await timed(() => model.session('vaeDecoder'));
  const latent = { data: rng.fillNormal(new Float32Array(4 * 64 * 64)), batch: 1, channels: 4, height: 64, width: 64 };
  const [, vaeDecode, vaeDecodeCpu] = await timed(() => decodeLatents(model, latent));
  await model.release();
  return { textCreate, textEncode, textEncodeCpu, hashFirst, unetCreateFirst, unetCreate, unetFirst, unetStep, unetStepCpu, loopStallMs: loop.max / 1e6, vaeCreate, vaeDecode, vaeDecodeCpu };
}

/** Child: a whole txt2img run at 512x512 (2 steps: from the second on a session reuses what it holds; CFG, batch 1) through the CLI, then its peak RSS. */
async function txt2img(data: string, precision: Precision) {
  const [code, ms] = await timed(() => main([
    'run', path.join(ROOT, 'graphs/txt2img.json'), '--data', data, '--quiet', '--out', path.join(data, `out-${sdMemory()}-${precision}`),
    '--set', `checkpoint.checkpoint=${FILES[precision]}`, '--set', 'sampler.steps=2', '--set', 'sampler.batch=1',
    '--set', 'sampler.width=512', '--set', 'sampler.height=512',
  ]));
  if (code !== 0) throw new Error(`txt2img run failed (exit code ${code})`);
  return { txt2imgSeconds: seconds(ms), peakRssGb: peakRssGb() };
}

function child(mode: 'parts' | 'txt2img', data: string, precision: Precision, memory = sdMemory()): Record<string, number> {
  const env = { ...process.env, FACECHAIN_SD_MEMORY: memory };
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, mode, data, precision], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24, env });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${mode} ${precision} failed (exit ${r.status}): ${r.stdout}`);
  return JSON.parse(line);
}

const [mode, dataArg, precisionArg] = process.argv.slice(2);
if (mode === 'parts' || mode === 'txt2img') {
  const result = mode === 'parts' ? await parts(dataArg!, precisionArg as Precision) : await txt2img(dataArg!, precisionArg as Precision);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const memory = sdMemory();
const precisions = (memory === 'speed' ? ['fp16'] : Object.keys(FILES)) as Precision[];
const data = mkdtempSync(path.join(os.tmpdir(), 'fc-sd-cpu-'));
try {
  const checkpoints = path.join(data, 'models', 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  writeFileSync(path.join(checkpoints, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  for (const precision of precisions) {
    const [, ms] = await timed(() => writeRandomCheckpoint(path.join(checkpoints, FILES[precision]), sd15, precision === 'fp16' ? 'float16' : 'float32'));
    console.log(`wrote the random ${precision} checkpoint in ${seconds(ms).toFixed(1)} s`);
  }
  const { intraOpNumThreads } = sessionThreads();
  console.log(`SD1.5 at 512x512, FACECHAIN_SD_MEMORY=${memory}, on ${intraOpNumThreads} threads (${os.cpus()[0]?.model ?? 'CPU'}, load ${os.loadavg()[0]!.toFixed(1)})`);
  // stable-diffusion.cpp 97d29908 (ggml 8e800cef) measured on this machine with the same random SD1.5
  // weights, 2 threads, 2 steps (README, "stable-diffusion.cpp"): for reading our figures against.
  const sdcpp = {
    fp16: { load: '4.2-4.5 s', step: '28.1-35.8 s', vae: '57.7-67.2 s', rss: '3.87 GB' },
    fp32: { load: '9.5 s', step: '36.6 s', vae: '62.2 s', rss: '4.67 GB' },
  };
  const rows: [string, string, string, string][] = [];
  const check = (value: number, goal: number) => `${value <= goal ? 'OK' : 'MISSED'} (goal <= ${goal})`;
  for (const precision of precisions) {
    const p = child('parts', data, precision);
    const s = (k: string) => seconds(p[k]!).toFixed(2);
    const first = Number.isNaN(p.unetCreateFirst!)
      ? ''
      : ` (first, hashing the checkpoint and quantising: ${s('unetCreateFirst')} s, ${check(seconds(p.unetCreateFirst!), 6)}; hashing alone ${s('hashFirst')} s)`;
    rows.push(
      [`${precision}: UNet session created${first ? ' from the cache' : ''}`, `${s('unetCreate')} s${first}`, check(seconds(p.unetCreate!), 6), sdcpp[precision].load],
      [`${precision}: UNet step, CFG batch 2 (first step ${s('unetFirst')} s)`, `${s('unetStep')} s (CPU ${s('unetStepCpu')} s)`, check(seconds(p.unetStep!), 6.5), sdcpp[precision].step],
      [`${precision}: longest event-loop stall during a UNet step`, `${p.loopStallMs!.toFixed(0)} ms`, check(p.loopStallMs!, 100), '-'],
      [`${precision}: VAE decode 512x512 (session ${s('vaeCreate')} s)`, `${s('vaeDecode')} s (CPU ${s('vaeDecodeCpu')} s)`, check(seconds(p.vaeDecode!), 12.5), sdcpp[precision].vae],
      [`${precision}: text encode, batch 2 (session ${s('textCreate')} s)`, `${s('textEncode')} s (CPU ${s('textEncodeCpu')} s)`, '-', '-'],
    );
    console.log(rows.slice(-5).map((r) => r.join('  ')).join('\n'));
  }
  for (const precision of precisions) {
    const t = child('txt2img', data, precision);
    rows.push([`${precision}: txt2img 512x512, 2 steps: peak RSS (run ${t.txt2imgSeconds!.toFixed(1)} s)`, `${t.peakRssGb!.toFixed(2)} GB`, precision === 'fp16' ? check(t.peakRssGb!, 4) : '-', sdcpp[precision].rss]);
    console.log(rows.at(-1)!.join('  '));
  }
  if (memory === 'int8') {
    child('txt2img', data, 'fp16', 'lean');
    const png = async (dir: string) => {
      const folder = path.join(data, dir);
      const file = readdirSync(folder).find((f) => f.endsWith('.png'));
      return new Uint8Array(await sharp(path.join(folder, file!)).removeAlpha().raw().toBuffer());
    };
    const db = psnr8(await png('out-int8-fp16'), await png('out-lean-fp16'));
    rows.push(['fp16: txt2img image 512x512, 2 steps, int8 vs lean (same seed)', `PSNR ${db.toFixed(1)} dB`, '-', '-']);
    console.log(rows.at(-1)!.join('  '));
  }
  console.log(`\n| measurement | result | goal | stable-diffusion.cpp |\n|---|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
} finally {
  rmSync(data, { recursive: true, force: true });
}

// opt-in: 35 minutes on a busy 2-core machine, 10 GB of memory, needs the reference checkouts and torch
// Our SD1.5 graphs at full size against the reference code run in PyTorch on the same seeded random
// weights: UNet at 512x512 (64x64 latent) without and with a kohya LoRA, VAE decoder and encoder at
// 512x512, text encoder (last layer, clip skip 2). fp32 both sides. Needs FACECHAIN_PARITY_REFS = a folder
// of the reference checkouts (test/fixtures/parity/reference.py names them) and Python with torch
// (FACECHAIN_PYTHON, default /usr/bin/python3); says so and skips without them. About 2 GB of temp disk
// and 10 GB of memory: run it under flock /tmp/facechain-heavy.lock.
// PARITY_LATENT=32 for a quicker 256x256 run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadLoraFile } from '../models/lora/file.ts';
import { LoraStack } from '../models/lora/stack.ts';
import type { HostTensor } from '../models/onnx/index.ts';
import { readSafetensors, readSafetensorsHeader } from '../models/safetensors.ts';
import type { SdPart } from '../models/sd/build.ts';
import { sd15 } from '../models/sd/config.ts';
import { ExternalWeights } from '../models/sd/external-weights.ts';
import { checkpointIndex, loadCheckpointFile } from '../models/sd/load-model.ts';
import { loraFeeds } from '../models/sd/lora-feeds.ts';
import { PartSession } from '../models/sd/part-session.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { floatDecoder, PARITY_TOLERANCE, relativeError } from '../test/parity/parity-fixtures.ts';

const refs = process.env.FACECHAIN_PARITY_REFS;
const python = process.env.FACECHAIN_PYTHON ?? '/usr/bin/python3';
const latentSide = Number(process.env.PARITY_LATENT ?? 64);
if (!refs || !existsSync(refs)) {
  console.log('parity-sd15: skipped: set FACECHAIN_PARITY_REFS to a folder of the reference checkouts (test/fixtures/parity/reference.py)');
  process.exit(0);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'facechain-parity-sd15-'));
const checkpoints = path.join(dir, 'checkpoints');
mkdirSync(checkpoints);
const rows: { part: string; error: number; ours: number; torch: number }[] = [];
try {
  const script = path.join(import.meta.dirname, 'torch', 'parity_sd15.py');
  const py = spawnSync(python, [script, path.resolve(refs), checkpoints, String(latentSide)], { stdio: 'inherit' });
  if (py.status !== 0) throw new Error(`${python} ${script} failed (status ${py.status})`);
  writeFileSync(path.join(checkpoints, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));
  const { tensors: ref, metadata } = await readSafetensors(path.join(checkpoints, 'reference.safetensors'));
  const r = (name: string) => ref.get(name)!;
  const file = path.join(checkpoints, 'sd15-parity.safetensors');
  const model = await loadCheckpointFile(file, dir, 'sd15-parity');
  if (model.config.name !== 'sd15') throw new Error(`loaded as ${model.config.name}, not sd15`);

  async function timedRun(session: PartSession, feeds: Record<string, HostTensor>) {
    const t = performance.now();
    const out = await session.run(feeds);
    return { out, seconds: (performance.now() - t) / 1000 };
  }
  const open = (part: SdPart) => {
    const g = model.graph(part);
    return PartSession.create('bytes' in g ? g.bytes : g.path, { weightsDir: model.weightsDir });
  };
  const f32 = (t: HostTensor) => t.data as Float32Array;
  const add = (part: string, ours: HostTensor, reference: string, seconds: number, torchKey: string) => {
    rows.push({ part, error: relativeError(f32(ours), f32(r(reference))), ours: seconds, torch: Number(metadata[torchKey]) });
  };

  const text = await open('text');
  const t = await timedRun(text, { input_ids: r('input_ids'), ...loraFeeds(model.loraTargets.text) });
  add('text encoder, last layer', t.out.hidden!, 'hidden', t.seconds, 'text');
  add('text encoder, clip skip 2', t.out.hidden_skip2!, 'hidden_skip2', t.seconds, 'text');
  await text.release();

  const created = performance.now();
  const unet = await open('unet');
  console.log(`UNet session created in ${((performance.now() - created) / 1000).toFixed(1)} s`);
  const inputs = { sample: r('sample'), timestep: r('timestep'), context: r('context') };
  const plain = await timedRun(unet, { ...inputs, ...loraFeeds(model.loraTargets.unet) });
  add(`UNet ${8 * latentSide}x${8 * latentSide}`, plain.out.eps!, 'eps', plain.seconds, 'unet');
  const { lora } = await loadLoraFile(path.join(checkpoints, 'sd15-parity-lora.safetensors'));
  const branches = new LoraStack([{ lora, weight: 1 }]).unet(0, 1);
  const withLora = await timedRun(unet, { ...inputs, ...loraFeeds(model.loraTargets.unet, branches) });
  add(`UNet ${8 * latentSide}x${8 * latentSide} + kohya LoRA (rank 4, ${branches.size} modules)`, withLora.out.eps!, 'eps_lora', withLora.seconds, 'unet_lora');
  await unet.release();

  const index = checkpointIndex(await readSafetensorsHeader(file), path.basename(file));
  const decoder = await floatDecoder(sd15, new ExternalWeights(index), checkpoints);
  const d = await timedRun(decoder, { latent: r('latent') });
  add(`VAE decoder -> ${8 * latentSide}x${8 * latentSide}`, d.out.image!, 'decoded', d.seconds, 'vae_decoder');
  await decoder.release();

  const encoder = await open('vaeEncoder');
  const e = await timedRun(encoder, { image: r('image') });
  add(`VAE encoder ${8 * latentSide}x${8 * latentSide}, mean`, e.out.mean!, 'mean', e.seconds, 'vae_encoder');
  add(`VAE encoder ${8 * latentSide}x${8 * latentSide}, std`, e.out.std!, 'std', e.seconds, 'vae_encoder');
  await encoder.release();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n| part | max relative error (target ${PARITY_TOLERANCE}) | ours (s) | torch (s) |\n|---|---|---|---|`);
for (const row of rows) {
  console.log(`| ${row.part} | ${row.error.toExponential(2)}${row.error > PARITY_TOLERANCE ? ' **over**' : ''} | ${row.ours.toFixed(1)} | ${row.torch.toFixed(1)} |`);
}
process.exitCode = rows.some((row) => row.error > PARITY_TOLERANCE) ? 1 : 0;

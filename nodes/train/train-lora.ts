import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sample } from '../../models/sd/sample.ts';
import { SdModel } from '../../models/sd/sd-model.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { hashIndex } from '../../models/store/hash.ts';
import { lossChart } from '../../models/train/loss-chart.ts';
import { loraBranches, toLora, type LoraParams } from '../../models/train/lora-params.ts';
import { HOW_SETTINGS, trainLora, TrainSettingsSchema, type StepReport } from '../../models/train/train-lora.ts';
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';

const duration = (s: number) => (s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(0)} s`);

/** A run's training checkpoint, under the cache folder by the run's fingerprint. */
function trainingStateFile(cache: string, fingerprint: string): string {
  const dir = path.join(cache, 'training', fingerprint.slice(0, 32));
  mkdirSync(dir, { recursive: true });
  return path.join(dir, 'state.safetensors');
}

export default defineNode({
  type: 'train/lora',
  version: 2,
  category: 'train',
  title: 'Train face LoRA',
  description:
    "Trains a face LoRA on the preprocessed set, as FaceChain does (paper 2.2): each step encodes an image with the VAE (cached), noises it at a random timestep, " +
    'predicts the noise with the UNet carrying the LoRA and follows the MSE gradient with AdamW. Defaults are FaceChain\'s code (diffusers\' attention LoRA processors): ' +
    'rank 4, no alpha (alpha = rank, branch scale 1), down weights N(0, 1/rank), up weights 0, lr 1.5e-4, cosine schedule, random flip, attention q/k/v/out ' +
    '(the paper: rank 32, cosine with restarts). kohya\'s usual alpha 32 (scale 8 at rank 4) and kaiming-uniform init are the "alpha" and "init" params. ' +
    'Connect a LoRA to "startFrom" to warm-start from it, as FaceChain starts from its face-common LoRA (its modules must be the ones trained here). ' +
    'Shows loss, it/s and ETA, and a sample with the LoRA and the loss curve every "previewEvery" steps. ' +
    'A training checkpoint is kept every "checkpointEvery" steps and on cancel (also during a preview): running again with the same inputs and training params resumes from the last finished step (the preview and checkpoint intervals may change).',
  inputs: {
    dataset: { type: 'DATASET' },
    model: { type: 'SD_MODEL' },
    startFrom: { type: 'LORA', optional: true, description: 'Warm start: train on from this LoRA (kohya, diffusers or PEFT; same modules as "targets" and "textEncoder" select) instead of zero' },
  },
  outputs: {
    lora: { type: 'LORA', description: 'The trained LoRA (kohya layout with ss_* metadata); Save LoRA writes it to a file' },
    report: { type: 'STRING', description: 'Steps, final loss and time' },
  },
  params: TrainSettingsSchema.extend({
    previewEvery: z.int().min(0).max(100_000).default(100).meta({ description: 'Sample with the LoRA every N steps (0 = never)' }),
    previewSteps: z.int().min(1).max(50).default(12).meta({ description: 'Sampling steps of the preview' }),
    checkpointEvery: z.int().min(1).max(100_000).default(100).meta({ description: 'Write a training checkpoint every N steps' }),
  }),
  async run(ctx, inputs, p) {
    if (!(inputs.model instanceof SdModel)) throw new Error('inputs.model: not a loaded SD model');
    const model = inputs.model;
    const dataset = inputs.dataset;
    const caption = dataset.entries[0]?.text ?? '';
    const { previewEvery, previewSteps, checkpointEvery, ...settings } = p;

    const losses: number[] = [];
    let firstStep = 1;
    const preview = async (params: LoraParams, step: number) => {
      const latent = await sample(
        model,
        { prompt: caption, negativePrompt: '', steps: previewSteps, cfg: 5, seed: p.seed, width: p.resolution, height: p.resolution, scheduler: 'euler_a' },
        { signal: ctx.signal, textLora: p.textEncoder ? loraBranches(params) : undefined, unetLora: () => loraBranches(params) },
      );
      const image = at(await decodeLatents(model, latent), 0, 'image');
      ctx.preview([{ ...image, name: `step ${step}` }, await lossChart(losses, p.steps, firstStep)]);
    };
    const onStep = async (r: StepReport, params: () => Promise<LoraParams>) => {
      if (!losses.length) firstStep = r.step;
      losses.push(r.loss);
      const eta = (r.total - r.step) / r.rate;
      const skipped = r.skipped ? ` · skipped (float16 overflow, loss scale now ${r.lossScale})` : '';
      ctx.progress(r.step / r.total, `step ${r.step}/${r.total} · loss ${r.loss.toFixed(4)} · ${r.rate.toFixed(2)} it/s · ETA ${duration(eta)}${skipped}`);
      if (previewEvery && (r.step % previewEvery === 0 || r.step === r.total)) await preview(await params(), r.step);
    };

    // What the trained LoRA depends on, and nothing else: changing how often previews or checkpoints
    // come, or how memory is traded for compute, does not throw away a training run.
    const startFrom = inputs.startFrom;
    const what = Object.fromEntries(Object.entries(settings).filter(([k]) => !(HOW_SETTINGS as readonly string[]).includes(k)));
    const hash = createHash('sha256')
      .update(JSON.stringify({ settings: what, model: model.id, file: model.checkpointFile, dataset: dataset.entries.map((e) => [e.file_name, e.text]), dir: dataset.dir }));
    for (const m of startFrom?.modules ?? []) hash.update(`${m.name}:${m.alpha}`).update(m.down.data).update(m.up.data);
    const fingerprint = hash.digest('hex');
    if (startFrom) ctx.log.info(`Warm start from "${startFrom.name}" (${startFrom.modules.length} modules)`);
    const started = performance.now();
    const result = await trainLora(model, dataset, settings, {
      signal: ctx.signal,
      onStep,
      checkpoint: { file: trainingStateFile(ctx.data.cache, fingerprint), every: checkpointEvery, fingerprint },
      startFrom,
    });
    if (result.resumedFrom) ctx.log.info(`Resumed from the checkpoint at step ${result.resumedFrom}`);
    const seconds = (performance.now() - started) / 1000;
    const last = result.losses.slice(-Math.min(20, result.losses.length));
    const loss = last.reduce((a, b) => a + b, 0) / last.length;
    const baseHash = model.checkpointFile && (await hashIndex(ctx.data.models).sha256(model.checkpointFile));
    const lora = toLora(result.params, {
      name: `${dataset.token.replace(/[^A-Za-z0-9_-]/g, '') || 'face'}-lora`,
      source: 'train/lora',
      base: model.config.name,
      metadata: {
        ss_network_module: 'networks.lora',
        ss_network_dim: String(result.params.rank),
        ss_network_alpha: String(result.params.alpha),
        ss_learning_rate: String(p.learningRate),
        ss_lr_scheduler: p.schedule,
        ss_max_train_steps: String(p.steps),
        ss_steps: String(p.steps),
        ss_seed: String(p.seed),
        ss_resolution: `(${p.resolution}, ${p.resolution})`,
        ss_num_train_images: String(dataset.entries.length),
        ss_batch_size_per_device: String(p.batch),
        ss_sd_model_name: model.checkpointFile ? path.basename(model.checkpointFile) : model.id,
        ...(baseHash ? { ss_new_sd_model_hash: baseHash, ss_sd_model_hash: baseHash.slice(0, 8) } : {}),
        ss_base_model_version: model.config.name === 'sd15' ? 'sd_v1' : model.config.name,
        ss_training_comment: `FaceChain Studio face LoRA for "${dataset.token}" (${dataset.subject})`,
      },
    });
    const report = last.length
      ? `${p.steps} steps (${result.losses.length} this run) in ${duration(seconds)}; loss ${loss.toFixed(4)} (mean of the last ${last.length})`
      : `${p.steps} steps, all done by an earlier run (its checkpoint)`;
    ctx.log.info(report);
    return { lora, report };
  },
});

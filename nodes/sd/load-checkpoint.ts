import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { modelParam } from '../../runtime/params.ts';
import { loadSdModel } from '../../models/sd/load-model.ts';

export default defineNode({
  type: 'sd/load-checkpoint',
  version: 1,
  category: 'stable diffusion',
  title: 'Load checkpoint',
  description:
    'Loads a Stable Diffusion 1.5 model from data/models/checkpoints: a single .safetensors file (the usual ' +
    'v1-5-pruned-emaonly layout, fp32 or fp16) or a diffusers folder. Its ONNX graphs are built once and cached ' +
    'in data/models/converted. "tiny" is a miniature model with seeded random weights: it runs anywhere in ' +
    'milliseconds and makes noise-like images, for trying graphs without a checkpoint.',
  inputs: {},
  outputs: { model: { type: 'SD_MODEL' } },
  params: z.object({
    checkpoint: modelParam('checkpoints', 'tiny', 'Checkpoint file or diffusers folder, or "tiny"'),
  }),
  async run(ctx, _inputs, p) {
    ctx.progress(0, `loading ${p.checkpoint}`);
    const model = await loadSdModel(p.checkpoint, ctx.data.models);
    ctx.progress(1);
    return { model };
  },
});

import { z } from 'zod';
import { bakeIntoModel } from '../../models/lora/bake-model.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { SdModel } from '../../models/sd/sd-model.ts';
import { defineNode } from '../../runtime/node.ts';

export default defineNode({
  type: 'lora/bake',
  version: 1,
  category: 'lora',
  title: 'Bake LoRA',
  description:
    'Merges a LoRA stack into the model\'s weights (W + weight x alpha/rank x block weight x up.down for every ' +
    'module, 3x3 convolution (LoCon) modules included) and outputs a model that samples with no LoRA input as ' +
    'the original does with the stack. The merged weights are written once to data/models/converted/, keyed by the ' +
    'content of the checkpoint weights they replace and the stack (its LoRAs\' tensors, weights and block weights): ' +
    'baking the same again reuses the file (the first bake of a checkpoint hashes it once). Per-step schedules ' +
    '(start, end, ramp or values set on a "LoRA stack" node) cannot be baked and are an error; so is a stack made ' +
    'for another base model. The sampler can still mix further LoRAs into a baked model.',
  inputs: {
    model: { type: 'SD_MODEL' },
    loras: { type: 'LORA_STACK', description: 'The LoRAs to merge, made for this model\'s base, without per-step schedules' },
  },
  outputs: { model: { type: 'SD_MODEL', description: 'The model with the LoRAs in its weights' } },
  params: z.object({}),
  async run(ctx, inputs) {
    if (!(inputs.model instanceof SdModel)) throw new Error('model input is not a loaded SD model');
    if (!(inputs.loras instanceof LoraStack)) throw new Error('loras input is not a LoRA stack');
    ctx.progress(0, 'baking');
    const baked = await bakeIntoModel(inputs.model, inputs.loras, ctx.data.models);
    ctx.log.info(baked.weights ? `${baked.cached ? 'Reused' : 'Baked'} ${baked.weights} weights (converted/${baked.key})` : 'The stack adapts no weight: the model is unchanged');
    ctx.progress(1);
    return { model: baked.model };
  },
});

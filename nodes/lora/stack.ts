import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { parseBlockWeights } from '../../models/lora/blocks.ts';
import { ScheduleSchema } from '../../models/lora/schedule.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { warnBakeOnly } from './bake-only.ts';
import { blocksParam, weightParam } from './params.ts';

const params = z.object({
  weight: weightParam(1, 'Strength of this LoRA; negative subtracts it, above 1 exaggerates it'),
  blocks: blocksParam('Weight per UNet block'),
  ...ScheduleSchema.shape,
  values: ScheduleSchema.shape.values.unwrap().max(64).default([]).meta({ ui: 'number-list', description: 'Multiplier per sampling step (stretched over the steps when fewer); empty = 1' }),
});

export default defineNode({
  type: 'lora/stack',
  version: 1,
  category: 'lora',
  title: 'LoRA stack',
  description:
    'Adds one LoRA to a stack with its weight, per-block weights (LoRA Block Weight presets and vectors) and a ' +
    'per-step schedule (active window start/end as fractions of the steps, linear or cosine ramp, or one value per ' +
    'step). Chain any number of these; the sampler applies the whole stack as one branch per layer (the LoRAs\' ' +
    'ranks side by side, exact), changing weights between steps without reloading the model. Schedules act on the ' +
    'UNet; the text encoder runs once and takes weight x BASE.',
  inputs: {
    lora: { type: 'LORA' },
    stack: { type: 'LORA_STACK', optional: true, description: 'LoRAs added before this one' },
  },
  outputs: { stack: { type: 'LORA_STACK' } },
  params,
  run(ctx, inputs, p) {
    const lora = inputs.lora;
    const { weight, blocks, ...schedule } = p;
    const stack = (inputs.stack ?? new LoraStack()).add({
      lora, weight, blocks: parseBlockWeights(blocks), schedule,
    });
    warnBakeOnly(ctx.log, stack, 'stack');
    return { stack };
  },
});

import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { parseBlockWeights } from '../../models/lora/blocks.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { warnBakeOnly } from './bake-only.ts';
import { blocksParam, weightParam } from './params.ts';

export default defineNode({
  type: 'lora/mix',
  version: 1,
  category: 'lora',
  title: 'FaceChain LoRA mix',
  description:
    'Mixes FaceChain\'s two LoRAs, the identity (face) LoRA and a style LoRA, into a stack for the sampler. ' +
    'Defaults follow FaceChain\'s code: face 1.0 (0.85 in later versions), style 0.25; the paper ' +
    '(arXiv 2308.14256) states face 0.25 and style 1.0. Weights may be negative or above 1. Further LoRAs, ' +
    'and per-step schedules, come in through the stack input ("LoRA stack" nodes).',
  inputs: {
    face: { type: 'LORA', optional: true, description: 'The identity LoRA trained on the user\'s photos' },
    style: { type: 'LORA', optional: true, description: 'A style LoRA' },
    stack: { type: 'LORA_STACK', optional: true, description: 'LoRAs added before these two' },
  },
  outputs: { stack: { type: 'LORA_STACK' } },
  params: z.object({
    faceWeight: weightParam(1, 'Face LoRA strength (FaceChain code: 1.0, later 0.85; paper: 0.25)'),
    faceBlocks: blocksParam('Face LoRA weight per UNet block'),
    styleWeight: weightParam(0.25, 'Style LoRA strength (FaceChain code: 0.25; paper: 1.0)'),
    styleBlocks: blocksParam('Style LoRA weight per UNet block'),
  }),
  run(ctx, inputs, p) {
    let stack = inputs.stack ?? new LoraStack();
    if (inputs.face !== undefined) stack = stack.add({ lora: inputs.face, weight: p.faceWeight, blocks: parseBlockWeights(p.faceBlocks) });
    if (inputs.style !== undefined) stack = stack.add({ lora: inputs.style, weight: p.styleWeight, blocks: parseBlockWeights(p.styleBlocks) });
    warnBakeOnly(ctx.log, stack, 'stack');
    return { stack };
  },
});

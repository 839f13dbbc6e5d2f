import { z } from 'zod';
import { parseBlockWeights } from '../../models/lora/blocks.ts';

/** A LoRA strength: negative subtracts the LoRA, above 1 exaggerates it. */
export const weightParam = (fallback: number, description: string) =>
  z.number().min(-10).max(10).default(fallback).meta({ description, step: 0.05 });

/** A block-weight spec, checked when the graph is validated. */
export const blocksParam = (description: string) =>
  z
    .string()
    .max(1000)
    .superRefine((spec, ctx) => {
      try {
        parseBlockWeights(spec);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    })
    .default('')
    .meta({
      description:
        `${description}: empty for 1 everywhere, a LoRA Block Weight preset (ALL, NONE, INS, IND, INALL, MIDD, ` +
        'OUTD, OUTS, OUTALL, ALL0.5), 17 or 26 comma-separated values (BASE, IN00-IN11, M00, OUT00-OUT11; 17 = the ' +
        'SD1.5 blocks with attention, the others 0 as in LBW), or NAME=value pairs such as "IN01=0, OUT03=0.5" ' +
        '(other blocks 1). BASE is the text encoder.',
    });

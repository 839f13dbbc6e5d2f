import { z } from 'zod';
import { LoraStack } from '../../models/lora/stack.ts';
import { detailImage, type PersonInput } from '../../models/post/face-detail-image.ts';
import { FaceDetailOptionsSchema } from '../../models/post/face-detail.ts';
import { FaceChoiceSchema, PersonSchema, PersonSelectSchema } from '../../models/post/face-select.ts';
import { checkLoraBase, isLoraSchedule, type LoraSchedule } from '../../models/sd/lora-schedule.ts';
import { SdModel } from '../../models/sd/sd-model.ts';
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Image } from '../../runtime/values.ts';
import { faceModels } from '../face/face-models.ts';
import { warnBakeOnly } from '../lora/bake-only.ts';
import { samplingParams, startImage } from '../sd/sampling-params.ts';

const d = FaceDetailOptionsSchema.shape;
const PEOPLE = [1, 2, 3] as const;
const person = PersonSchema.shape;

/** Person n's params: which face is theirs and their prompt (their LoRAs and reference photo are inputs lorasN, referenceN). */
function personParams<N extends (typeof PEOPLE)[number]>(n: N) {
  return {
    [`person${n}`]: PersonSelectSchema.default('off').meta({ description: `Person ${n}'s face: off, the index-th from the left, the largest left, or the one most like reference${n}; repainted with loras${n}` }),
    [`person${n}Index`]: person.index.meta({ description: `Person ${n}, select index: which face, counted from the left from 0` }),
    [`person${n}Prompt`]: person.prompt.meta({ ui: 'textarea', description: `Person ${n}'s prompt (e.g. their trigger phrase); empty = the prompt above` }),
  } as Record<`person${N}`, z.ZodDefault<typeof PersonSelectSchema>> & Record<`person${N}Index`, typeof person.index> & Record<`person${N}Prompt`, typeof person.prompt>;
}

export default defineNode({
  type: 'face/detail',
  version: 1,
  category: 'face',
  title: 'Face detail',
  description:
    'Repaints faces at full resolution (ADetailer/FaceDetailer): each face above minSize is cut out as a square with context (padding), ' +
    'sampled at the working size with the prompt, model and LoRAs at low denoise under a mask of its face oval (dilated, feathered), ' +
    'colour-matched and pasted back; pixels outside the dilated ovals stay exactly as they were. Several people: person N (params personN…) takes one face ' +
    '(by left-to-right index, the largest left, or the one most like their reference image on referenceN) and it is repainted with their own ' +
    'LoRA stack (input lorasN) and prompt. Previews each face before and after.',
  inputs: {
    images: { type: 'IMAGES', description: 'Pictures with faces: a sampler\'s decoded results or photos' },
    model: { type: 'SD_MODEL' },
    loras: { type: 'LORA_STACK', optional: true, description: 'LoRAs for faces without a person of their own (e.g. the face LoRA)' },
    loras1: { type: 'LORA_STACK', optional: true, description: 'Person 1\'s LoRAs (people[0])' },
    reference1: { type: 'IMAGE', optional: true, description: 'A photo of person 1, for select "reference"' },
    loras2: { type: 'LORA_STACK', optional: true, description: 'Person 2\'s LoRAs (people[1])' },
    reference2: { type: 'IMAGE', optional: true, description: 'A photo of person 2, for select "reference"' },
    loras3: { type: 'LORA_STACK', optional: true, description: 'Person 3\'s LoRAs (people[2])' },
    reference3: { type: 'IMAGE', optional: true, description: 'A photo of person 3, for select "reference"' },
  },
  outputs: { images: { type: 'IMAGES', description: 'The pictures with their faces repainted, in input order' } },
  params: z.object({
    prompt: samplingParams.prompt,
    negativePrompt: samplingParams.negativePrompt,
    steps: samplingParams.steps,
    cfg: samplingParams.cfg,
    seed: samplingParams.seed,
    scheduler: samplingParams.scheduler,
    denoise: d.denoise.meta({ description: 'How much of each face is redrawn (0.3-0.5 keeps the likeness and fixes detail)', step: 0.05 }),
    size: d.size.meta({ description: 'Side each face crop is sampled at (the model\'s native size: 512 for SD1.5, 256 for demo)', step: 64 }),
    padding: d.padding.meta({ description: 'Context around the face on each side, as a fraction of its size', step: 0.05 }),
    dilation: d.dilation.meta({ description: 'Growth of the face-oval mask, as a fraction of the face size', step: 0.01 }),
    feather: d.feather.meta({ description: 'Softness of the mask edge (inside the grown oval), as a fraction of the face size', step: 0.01 }),
    matchColour: d.matchColour.meta({ description: 'Match the repainted face\'s colours (mean and spread) to the original\'s; on, only the face\'s window of the crop is decoded (faster)' }),
    faces: FaceChoiceSchema.default('all').meta({ description: 'Faces repainted besides the people\'s: all, the largest, the index-th from the left, or only the people\'s (assigned)' }),
    index: z.int().min(0).max(99).default(0).meta({ description: 'faces = index: which face, counted from the left from 0' }),
    minSize: z.int().min(1).max(4096).default(48).meta({ description: 'Faces smaller than this (px, longer side of the box) are left alone' }),
    maxFaces: z.int().min(1).max(32).default(8),
    ...personParams(1),
    ...personParams(2),
    ...personParams(3),
  }),
  async run(ctx, inputs, p) {
    if (!(inputs.model instanceof SdModel)) throw new Error('model input is not a loaded SD model');
    const model = inputs.model;
    const stack = (name: string, v: unknown): LoraSchedule | undefined => {
      if (v === undefined) return undefined;
      if (!isLoraSchedule(v)) throw new Error(`${name} input is not a LoRA stack`);
      checkLoraBase(v, model, name);
      if (v instanceof LoraStack) warnBakeOnly(ctx.log, v, `${name} input`);
      return v;
    };
    const loras = stack('loras', inputs.loras);
    const extra = [
      { loras: inputs.loras1, reference: inputs.reference1 },
      { loras: inputs.loras2, reference: inputs.reference2 },
      { loras: inputs.loras3, reference: inputs.reference3 },
    ];
    const people: PersonInput[] = PEOPLE.map((n, k) => ({
      select: p[`person${n}`], index: p[`person${n}Index`], prompt: p[`person${n}Prompt`],
      loras: p[`person${n}`] === 'off' ? undefined : stack(`loras${n}`, at(extra, k).loras), reference: at(extra, k).reference,
    }));
    const models = faceModels(ctx);
    const out: Image[] = [];
    const previews: Image[] = [];
    for (const [i, original] of inputs.images.entries()) {
      const name = original.name ?? `image ${i}`;
      const rgb = original.channels === 3 ? original : await startImage(original, original.width, original.height);
      const notes: string[] = [];
      const r = await detailImage(model, models, rgb, p, people, loras, notes, {
        signal: ctx.signal,
        onStep: (k, n, step, total) => ctx.progress((i + (k + (step + 1) / total) / n) / inputs.images.length, `${name}: face ${k + 1}/${n}, step ${step + 1}/${total}`),
      });
      for (const note of notes) ctx.log.warn(`${name}: ${note}`);
      if (r.faces.length === 0) ctx.log.warn(`${name}: no face to repaint (${r.detected.length} detected, minSize ${p.minSize} px), passed through unchanged`);
      for (const f of r.faces) {
        const who = f.job.person === undefined ? 'the loras input' : `person ${f.job.person + 1}${f.job.similarity === undefined ? '' : ` (similarity ${f.job.similarity.toFixed(2)})`}`;
        ctx.log.info(`${name}: face ${f.job.order} (${Math.round(f.job.face.box.width)} px) repainted with ${who}'s LoRAs, seed ${f.seed}`);
        if (previews.length < 16) previews.push(f.before, f.after);
      }
      ctx.preview(previews);
      out.push({ ...r.image, name: original.name });
    }
    return { images: out };
  },
});

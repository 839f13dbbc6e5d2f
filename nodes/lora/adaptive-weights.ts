import { z } from 'zod';
import { searchWeights } from '../../models/adaptive/search.ts';
import { scorePlot } from '../../models/adaptive/plot.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { describeResultFace, FACECHAIN_FACE_SIZE } from '../../models/post/rank.ts';
import { describeTemplate } from '../../models/post/template-face.ts';
import { dot } from '../../models/preprocess/quality.ts';
import { checkLoraBase } from '../../models/sd/lora-schedule.ts';
import { sample } from '../../models/sd/sample.ts';
import { SdModel } from '../../models/sd/sd-model.ts';
import { decodeLatents } from '../../models/sd/vae-codec.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Image } from '../../runtime/values.ts';
import { faceModels } from '../face/face-models.ts';
import { samplingParams, startImage } from '../sd/sampling-params.ts';
import { warnBakeOnly } from './bake-only.ts';
import { weightParam } from './params.ts';

const count = (fallback: number, description: string) => z.number().int().min(1).max(16).default(fallback).meta({ description });

export default defineNode({
  type: 'lora/adaptive-weights',
  version: 1,
  category: 'lora',
  title: 'Adaptive LoRA weights',
  description:
    'Searches the face/style LoRA weight pair whose portrait looks most like the user (the FaceChain paper\'s future-work item). ' +
    'Every pair of a grid over the two weight ranges is sampled with the same prompt and seed (the model is loaded once: only ' +
    'the LoRA feeds change), decoded and scored: FaceChain\'s face check (exactly one face, 120-300 px of 512) and the cosine ' +
    'similarity of its FaceRes identity descriptor to the template face. Refinement rounds then try the best pair\'s four ' +
    'neighbours at half the previous step. The style-strength constraint is a floor on the style weight: pairs below minStyle ' +
    'are scored and plotted (faded) but never chosen. A result without a usable face has no score (grey in the plot). ' +
    'Defaults span FaceChain\'s code weights (face 1.0, style 0.25) and the paper\'s (face 0.25, style 1.0). ' +
    'The preview shows the score plot and the latest image after each pair.',
  inputs: {
    model: { type: 'SD_MODEL' },
    face: { type: 'LORA', description: 'The identity LoRA trained on the user\'s photos' },
    style: { type: 'LORA', description: 'A style LoRA' },
    template: { type: 'IMAGE', description: 'The user\'s face, e.g. the template output of Select by quality' },
    image: { type: 'IMAGE', optional: true, description: 'Start image for img2img' },
  },
  outputs: {
    face: { type: 'NUMBER', description: 'Best face LoRA weight' },
    style: { type: 'NUMBER', description: 'Best style LoRA weight' },
    stack: { type: 'LORA_STACK', description: 'The two LoRAs at the best weights, for a sampler' },
    images: { type: 'IMAGES', description: 'The best pair\'s portrait' },
    plot: { type: 'IMAGE', description: 'Score per weight pair (face across, style up); the best ringed' },
    scores: { type: 'SCORES', description: 'Every pair\'s score in search order (grid row by row of style, then refinements); NaN without a usable face' },
  },
  params: z
    .object({
      ...samplingParams,
      faceMin: weightParam(0.25, 'Smallest face LoRA weight of the grid'),
      faceMax: weightParam(1, 'Largest face LoRA weight of the grid'),
      faceCount: count(4, 'Face weights in the grid (evenly spaced; 1 = faceMin only)'),
      styleMin: weightParam(0.25, 'Smallest style LoRA weight of the grid'),
      styleMax: weightParam(1, 'Largest style LoRA weight of the grid'),
      styleCount: count(4, 'Style weights in the grid (evenly spaced; 1 = styleMin only)'),
      rounds: z.number().int().min(0).max(8).default(1).meta({ description: 'Refinement rounds: each samples up to four neighbours of the best pair at half the previous step' }),
      minStyle: weightParam(0, 'Style-strength floor: pairs with a lower style weight are never chosen (they are still scored and shown)'),
    })
    .refine((p) => p.faceMin <= p.faceMax, { path: ['faceMax'], message: 'faceMax must be at least faceMin' })
    .refine((p) => p.styleMin <= p.styleMax, { path: ['styleMax'], message: 'styleMax must be at least styleMin' })
    .refine((p) => p.minStyle <= p.styleMax, { path: ['minStyle'], message: 'minStyle is above styleMax: no pair could be chosen' }),
  async run(ctx, inputs, p) {
    if (!(inputs.model instanceof SdModel)) throw new Error('model input is not a loaded SD model');
    const model = inputs.model;
    const stackOf = (face: number, style: number) => new LoraStack([{ lora: inputs.face, weight: face }, { lora: inputs.style, weight: style }]);
    checkLoraBase(stackOf(1, 1), model, 'face and style');
    warnBakeOnly(ctx.log, stackOf(1, 1), 'face and style LoRAs');
    const models = faceModels(ctx);
    const template = await describeTemplate(models, inputs.template);
    const init = inputs.image && (await startImage(inputs.image, p.width, p.height));
    const params = { ...p, batch: 1, clipSkip: 1 as const };

    let latest: Image | undefined;
    let bestImage: Image | undefined;
    const score = async (face: number, style: number) => {
      ctx.signal.throwIfAborted();
      const stack = stackOf(face, style);
      const latent = await sample(model, params, { signal: ctx.signal, init, textLora: stack.text, unetLora: (i, total) => stack.unet(i, total) });
      const [image] = await decodeLatents(model, latent);
      latest = { ...image, name: `face-${face}-style-${style}.png` };
      const result = await describeResultFace(models, image, FACECHAIN_FACE_SIZE);
      if ('reason' in result) {
        ctx.log.info(`face ${face}, style ${style}: no score, ${result.reason}`);
        return undefined;
      }
      const s = dot(result.descriptor, template);
      ctx.log.info(`face ${face}, style ${style}: score ${s.toFixed(4)}`);
      return s;
    };
    const result = await searchWeights(
      { face: { min: p.faceMin, max: p.faceMax, count: p.faceCount }, style: { min: p.styleMin, max: p.styleMax, count: p.styleCount }, rounds: p.rounds, minStyle: p.minStyle },
      score,
      async (pair, { done, total, best, pairs }) => {
        if (best === pair) bestImage = latest;
        ctx.progress(Math.min(0.99, done / total), `pair ${done}: face ${pair.face}, style ${pair.style}`);
        ctx.preview([await scorePlot({ pairs, best, minStyle: p.minStyle }), latest!]);
      },
    );
    const { best } = result;
    ctx.log.info(`best: face ${best.face}, style ${best.style}, score ${best.score!.toFixed(4)} (${result.pairs.length} pairs sampled)`);
    const plot = await scorePlot(result);
    ctx.preview([plot, bestImage!]);
    ctx.progress(1);
    const images: Image[] = [bestImage!];
    return {
      face: best.face,
      style: best.style,
      stack: stackOf(best.face, best.style),
      images,
      plot,
      scores: result.pairs.map((q) => q.score ?? Number.NaN),
    };
  },
});

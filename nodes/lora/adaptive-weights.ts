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
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Image } from '../../runtime/values.ts';
import { faceModels } from '../face/face-models.ts';
import { samplingParams, startImage } from '../sd/sampling-params.ts';
import { runV2 } from './adaptive-v2.ts';
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
    'The preview shows the score plot and the latest image after each pair. ' +
    'search = halving (v2) instead samples the grid\'s pairs on several seeds by successive halving: every pair on one seed, the best 1/eta on eta ' +
    'times the seeds, and so on up to `seeds`; each result is also scored for style (score/style\'s Gram score against two images made with the ' +
    'style LoRA alone at weight 1). It chooses the highest mean identity among pairs whose mean style reaches styleFloor, optionally goes on with ' +
    'a coordinate search over the face LoRA\'s IN/MID/OUT block groups, plots identity vs style with the Pareto front, and writes every ' +
    '(pair, seed) with its scores as a results table (JSON and CSV, the sweep\'s format) beside that plot in the output folder. The same seeds give the same answer.',
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
    plot: { type: 'IMAGE', description: 'grid: score per weight pair (face across, style up), the best ringed; halving: mean identity vs mean style with the Pareto front' },
    scores: { type: 'SCORES', description: 'grid: every pair\'s score in search order (grid row by row of style, then refinements); halving: identity per (pair, seed) in evaluation order; NaN without a usable face' },
  },
  params: z
    .object({
      search: z.enum(['grid', 'halving']).default('grid').meta({ description: 'grid: v1, one seed per pair with refinement rounds; halving: v2, successive halving over several seeds with a style floor' }),
      ...samplingParams,
      faceMin: weightParam(0.25, 'Smallest face LoRA weight of the grid'),
      faceMax: weightParam(1, 'Largest face LoRA weight of the grid'),
      faceCount: count(4, 'Face weights in the grid (evenly spaced; 1 = faceMin only)'),
      styleMin: weightParam(0.25, 'Smallest style LoRA weight of the grid'),
      styleMax: weightParam(1, 'Largest style LoRA weight of the grid'),
      styleCount: count(4, 'Style weights in the grid (evenly spaced; 1 = styleMin only)'),
      rounds: z.number().int().min(0).max(8).default(1).meta({ description: 'Refinement rounds: each samples up to four neighbours of the best pair at half the previous step' }),
      minStyle: weightParam(0, 'Style-strength floor: pairs with a lower style weight are never chosen (they are still scored and shown)'),
      seeds: z.number().int().min(1).max(27).default(9).meta({ description: 'halving: seeds the finalists are scored on (seed, seed+1, ...); the first round uses one' }),
      eta: z.number().int().min(2).max(4).default(3).meta({ description: 'halving: each round keeps the best 1/eta of the pairs and gives them eta times the seeds (fewer rounds and evaluations when larger)' }),
      styleFloor: z.number().min(0).max(1).default(0).meta({ description: 'halving: mean style score (0-1, 1 = like the style LoRA alone) a pair must reach to be chosen' }),
      blockGroups: z.boolean().default(false).meta({ description: 'halving: then try the face LoRA\'s IN, MID and OUT block groups at 0 and 0.5, one group after the other, on every seed' }),
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
    const render = async (stack: LoraStack, seed: number) => {
      const latent = await sample(model, { ...params, seed }, { signal: ctx.signal, init, textLora: stack.text, unetLora: (i, total) => stack.unet(i, total) });
      return at(await decodeLatents(model, latent), 0, 'image');
    };
    const identity = async (image: Image, what: string) => {
      const result = await describeResultFace(models, image, FACECHAIN_FACE_SIZE);
      if ('descriptor' in result) return dot(result.descriptor, template);
      ctx.log.info(`${what}: no score, ${result.reason}`);
      return undefined;
    };
    if (p.search === 'halving') {
      const grid = { face: { min: p.faceMin, max: p.faceMax, count: p.faceCount }, style: { min: p.styleMin, max: p.styleMax, count: p.styleCount } };
      return runV2(ctx, { face: inputs.face, style: inputs.style, render, identity }, { ...grid, eta: p.eta, styleFloor: p.styleFloor, blockGroups: p.blockGroups }, p.seed, p.seeds);
    }

    let latest: Image | undefined;
    let bestImage: Image | undefined;
    const score = async (face: number, style: number) => {
      ctx.signal.throwIfAborted();
      const image = await render(stackOf(face, style), p.seed);
      latest = { ...image, name: `face-${face}-style-${style}.png` };
      const s = await identity(image, `face ${face}, style ${style}`);
      if (s !== undefined) ctx.log.info(`face ${face}, style ${style}: score ${s.toFixed(4)}`);
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

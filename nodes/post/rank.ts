import { z } from 'zod';
import type { DetectedFace } from '../../models/face/types.ts';
import { describeResultFace, FACECHAIN_FACE_SIZE, identityScores, topIndices } from '../../models/post/rank.ts';
import { describeTemplate } from '../../models/post/template-face.ts';
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Image } from '../../runtime/values.ts';
import { drawOverlays } from '../face/draw.ts';
import { faceModels } from '../face/face-models.ts';

export const TYPE = 'face/rank';

export const fraction = (fallback: number, description: string) => z.number().min(0).max(2).default(Number(fallback.toFixed(3))).meta({ description, step: 0.01 });

export default defineNode({
  type: TYPE,
  version: 1,
  category: 'face',
  title: 'Rank by identity',
  description:
    "FaceChain's last step: drops results with no face, more than one face, or a face outside a size range (FaceChain: one face of 120-300 px in a 512 px portrait), " +
    "scores each remaining result by how much its face looks like the user (cosine similarity of FaceRes identity descriptors to the template face, and to the mean of the results), " +
    'and keeps the best K, best first. Dropped results are logged with their reason; a run where none is left fails with the list.',
  inputs: {
    images: { type: 'IMAGES', description: 'Generated (or fused) portraits' },
    template: { type: 'IMAGE', optional: true, description: "The user's face, e.g. the template output of Select by quality; without it the set's mean face alone scores" },
  },
  outputs: {
    images: { type: 'IMAGES', description: 'The best results, best first' },
    scores: { type: 'SCORES', description: 'Identity score of each kept result, best first' },
  },
  params: z
    .object({
      topK: z.number().int().min(1).max(200).default(4).meta({ description: 'Keep at most this many results' }),
      templateWeight: z.number().min(0).max(1).default(0.5).meta({ description: 'Score = w x similarity to the template + (1 - w) x similarity to the mean of the results', step: 0.05 }),
      minFaceSize: fraction(FACECHAIN_FACE_SIZE.minFaceSize, "Smallest face: its box's longer side over the image's shorter side (FaceChain: 120/512)"),
      maxFaceSize: fraction(FACECHAIN_FACE_SIZE.maxFaceSize, "Largest face: its box's longer side over the image's shorter side (FaceChain: 300/512)"),
      keepDropped: z.boolean().default(false).meta({ description: 'Fill up to topK with the dropped results, after the ranked ones with score 0, instead of failing when none has a usable face' }),
    })
    .refine((p) => p.minFaceSize <= p.maxFaceSize, { path: ['maxFaceSize'], message: 'maxFaceSize must be at least minFaceSize' }),
  async run(ctx, { images, template }, p) {
    const models = faceModels(ctx);
    let templateDescriptor: Float32Array | undefined;
    if (template) templateDescriptor = await describeTemplate(models, template);
    else ctx.log.info('no template connected: scoring by similarity to the mean of the results alone');
    const kept: { image: Image; face: DetectedFace; descriptor: Float32Array }[] = [];
    const dropped: { image: Image; why: string }[] = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      const name = img.name ?? `image ${i}`;
      const result = await describeResultFace(models, img, p);
      if ('reason' in result) {
        dropped.push({ image: img, why: `${name}: ${result.reason}` });
        ctx.log.warn(`${name}: dropped, ${result.reason}`);
      } else kept.push({ image: img, ...result });
      ctx.progress((0.9 * (i + 1)) / images.length, name);
    }
    if (!kept.length && !p.keepDropped) throw new Error(`No result left to rank: all ${images.length} were dropped:\n${dropped.map((d) => d.why).join('\n')}`);
    const scores = identityScores(kept.map((k) => k.descriptor), templateDescriptor, p.templateWeight);
    const order = topIndices(scores.map((s) => s.score), p.topK);
    const previews: Image[] = [];
    for (const [rank, i] of order.entries()) {
      const { image, face } = at(kept, i);
      const s = at(scores, i);
      ctx.log.info(`#${rank + 1} ${image.name ?? ''} score ${s.score.toFixed(3)} (template ${s.template?.toFixed(3) ?? '-'}, mean ${s.mean.toFixed(3)})`);
      if (rank < 8) previews.push(await drawOverlays(image, [{ box: face.box, label: `#${rank + 1}  ${s.score.toFixed(3)}` }]));
    }
    const filler: Image[] = p.keepDropped ? dropped.slice(0, p.topK - order.length).map((d) => d.image) : [];
    previews.push(...filler.slice(0, Math.max(0, 8 - previews.length)));
    ctx.preview(previews);
    ctx.progress(1);
    const ranked: Image[] = order.map((i) => at(kept, i).image);
    return { images: ranked.concat(filler), scores: order.map((i) => at(scores, i).score).concat(filler.map(() => 0)) };
  },
});

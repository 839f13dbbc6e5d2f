import { z } from 'zod';
import { frontalScore, laplacianVariance, meanDescriptor, dot, selectFaces, type Candidate } from '../../models/preprocess/quality.ts';
import { faceSet, type FaceItem, type Rejection } from '../../models/preprocess/values.ts';
import { fromImage } from '../../runtime/image-io.ts';
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Image } from '../../runtime/values.ts';
import type { Box } from '../../models/face/types.ts';
import { faceModels } from './face-models.ts';

export const TYPE = 'face/quality-select';

/** Sharpness of the face box region, measured on its grey pixels. */
async function faceSharpness(image: Image, box: Box): Promise<number> {
  const left = Math.max(0, Math.floor(box.x));
  const top = Math.max(0, Math.floor(box.y));
  const width = Math.min(image.width, Math.ceil(box.x + box.width)) - left;
  const height = Math.min(image.height, Math.ceil(box.y + box.height)) - top;
  if (width < 3 || height < 3) return 0;
  const grey = await fromImage(image).extract({ left, top, width, height }).greyscale().extractChannel(0).raw().toBuffer();
  return laplacianVariance(grey, width, height);
}

export default defineNode({
  type: TYPE,
  version: 1,
  category: 'face',
  title: 'Select by quality',
  description:
    "Scores each face and keeps the best for training, as FaceChain does before training: identity consistency (cosine similarity of its FaceRes descriptor to the set's mean), " +
    'frontal pose (from the landmarks), detector confidence and sharpness (variance of the Laplacian over the face), multiplied into one score. ' +
    'Faces below a threshold are dropped with the reason; the best is the template face; the top N (FaceChain: 15) are kept. Also reads gender and age for the tagger.',
  inputs: { faces: { type: 'FACES' } },
  outputs: {
    faces: { type: 'FACES', description: 'The kept faces, best first' },
    template: { type: 'IMAGE', description: 'The best face crop' },
    scores: { type: 'SCORES', description: 'Combined score of each kept face, best first' },
  },
  params: z.object({
    maxImages: z.number().int().min(1).max(200).default(15).meta({ description: 'Keep at most this many (FaceChain: 15)' }),
    minFaceSize: z.number().min(0).max(4096).default(64).meta({ description: 'Smallest face in the source photo, pixels (larger box side)' }),
    minSharpness: z.number().min(0).max(10_000).default(20).meta({ description: 'Smallest Laplacian variance of the face region' }),
    minFrontal: z.number().min(0).max(1).default(0.3).meta({ description: 'Smallest frontal score (1 = facing the camera)', step: 0.05 }),
    minConfidence: z.number().min(0).max(1).default(0.5).meta({ description: 'Smallest detector confidence times face flag', step: 0.05 }),
    minSimilarity: z.number().min(-1).max(1).default(0.5).meta({ description: "Smallest cosine similarity to the set's mean face descriptor: drops photos of someone else", step: 0.05 }),
  }),
  async run(ctx, { faces }, p) {
    const input = faces;
    const models = faceModels(ctx);
    const described: FaceItem[] = [];
    for (const [i, item] of input.items.entries()) {
      ctx.signal.throwIfAborted();
      const res = at(await models.describe(item.image, [item.face]), 0, 'face');
      described.push({ ...item, descriptor: res.descriptor, attributes: { gender: res.gender, genderScore: res.genderScore, age: res.age } });
      ctx.progress((0.9 * (i + 1)) / input.items.length, item.photo);
    }
    const mean = meanDescriptor(described.map((it) => it.descriptor!));
    const candidates: Candidate[] = [];
    for (const it of described) {
      candidates.push({
        faceSize: it.faceSizeInPhoto,
        quality: {
          sharpness: await faceSharpness(it.image, it.face.box),
          frontal: frontalScore(it.face.landmarks),
          confidence: it.face.score * it.face.faceness,
          similarity: dot(it.descriptor!, mean),
        },
      });
    }
    const verdicts = selectFaces(candidates, p);
    const kept: FaceItem[] = [];
    const rejected: Rejection[] = [...input.rejected];
    verdicts.forEach((v, i) => {
      const item = { ...at(described, i), quality: { ...at(candidates, i).quality, score: v.score } };
      if (v.keep) kept[v.rank] = item;
      else rejected.push({ photo: item.photo, stage: TYPE, reason: v.reason });
    });
    for (const r of rejected.slice(input.rejected.length)) ctx.log.warn(`${r.photo}: ${r.reason}`);
    const out = faceSet(kept, rejected);
    ctx.preview(kept.slice(0, 8).map((it) => it.image));
    ctx.progress(1);
    return { faces: out, template: at(kept, 0, 'kept face').image, scores: kept.map((it) => it.quality!.score) };
  },
});

import { z } from 'zod';
import { describeResultFace, FACECHAIN_FACE_SIZE } from '../../models/post/rank.ts';
import { describeTemplate } from '../../models/post/template-face.ts';
import { dot, meanDescriptor } from '../../models/preprocess/quality.ts';
import { defineNode } from '../../runtime/node.ts';
import { faceModels } from '../face/face-models.ts';
import { fraction } from '../post/rank.ts';

export default defineNode({
  type: 'score/identity',
  version: 1,
  category: 'score',
  title: 'Identity score',
  description:
    'How much the faces look like the person: the face check and FaceRes descriptors of Rank by identity, scored as the cosine similarity to the ' +
    "mean descriptor of the reference photos (each reference's largest face). A result without exactly one face of a usable size has no score (NaN). " +
    'A sweep records its NUMBER outputs per cell.',
  inputs: {
    images: { type: 'IMAGES', description: 'Results to score' },
    reference: { type: 'IMAGES', description: "Photos of the person (e.g. the input photos or Select by quality's template)" },
  },
  outputs: {
    identity: { type: 'NUMBER', description: 'Mean similarity over the results that have a usable face; NaN if none has' },
    scored: { type: 'NUMBER', description: 'Fraction of the results that have a usable face' },
    scores: { type: 'SCORES', description: 'Similarity per result, in input order; NaN without a usable face' },
  },
  params: z
    .object({
      minFaceSize: fraction(FACECHAIN_FACE_SIZE.minFaceSize, "Smallest face: its box's longer side over the image's shorter side (FaceChain: 120/512)"),
      maxFaceSize: fraction(FACECHAIN_FACE_SIZE.maxFaceSize, "Largest face: its box's longer side over the image's shorter side (FaceChain: 300/512)"),
    })
    .refine((p) => p.minFaceSize <= p.maxFaceSize, { path: ['maxFaceSize'], message: 'maxFaceSize must be at least minFaceSize' }),
  async run(ctx, { images, reference }, p) {
    const models = faceModels(ctx);
    if (!reference.length) throw new Error('inputs.reference: no reference photos');
    const ref = meanDescriptor(await Promise.all(reference.map((r) => describeTemplate(models, r))));
    const scores: number[] = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      const face = await describeResultFace(models, img, p);
      if ('reason' in face) ctx.log.info(`${img.name ?? `image ${i}`}: no score, ${face.reason}`);
      scores.push('reason' in face ? Number.NaN : dot(face.descriptor, ref));
      ctx.progress((i + 1) / images.length);
    }
    const ok = scores.filter(Number.isFinite);
    return { identity: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : Number.NaN, scored: ok.length / Math.max(1, images.length), scores };
  },
});

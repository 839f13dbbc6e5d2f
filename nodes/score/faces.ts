import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { faceModels } from '../face/face-models.ts';

export default defineNode({
  type: 'score/faces',
  version: 1,
  category: 'score',
  title: 'Face count',
  description: 'Faces the detector (BlazeFace + FaceMesh, as Detect faces) finds in each image: the fraction of images with at least one, and the mean count.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: {
    presence: { type: 'NUMBER', description: 'Fraction of the images with at least one face' },
    count: { type: 'NUMBER', description: 'Mean number of faces per image' },
    counts: { type: 'SCORES', description: 'Faces per image, in input order' },
  },
  params: z.object({}),
  async run(ctx, { images }) {
    const models = faceModels(ctx);
    const counts: number[] = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      counts.push((await models.detect(img)).length);
      ctx.progress((i + 1) / images.length);
    }
    const n = Math.max(1, images.length);
    return { presence: counts.filter((c) => c > 0).length / n, count: counts.reduce((a, b) => a + b, 0) / n, counts };
  },
});

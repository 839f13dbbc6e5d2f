import { z } from 'zod';
import { gramDistance, meanGrams, styleGrams } from '../../models/score/style-gram.ts';
import { defineNode } from '../../runtime/node.ts';

export default defineNode({
  type: 'score/style',
  version: 1,
  category: 'score',
  title: 'Style score',
  description:
    'How close the images are in style to a reference made with the style LoRA alone: 1 / (1 + d), where d is the distance of Gram statistics ' +
    '(second moments, as in neural style transfer) of a fixed feature bank (colour, luminance contrast, a constant) at 128, 64 and 32 px: the mean ' +
    'over scales of the relative Frobenius distance to the mean Gram of the references. 1 = the same statistics. It sees palette, colour correlations ' +
    'and texture contrast, not layout or learnt features (strokes, materials): compare results of one prompt and model against references of the same.',
  inputs: {
    images: { type: 'IMAGES', description: 'Results to score' },
    reference: { type: 'IMAGES', description: 'Images made with the style LoRA alone (same model and prompt, other seeds)' },
  },
  outputs: {
    style: { type: 'NUMBER', description: 'Mean of 1 / (1 + d) over the images' },
    distance: { type: 'NUMBER', description: 'Mean Gram distance d' },
    scores: { type: 'SCORES', description: '1 / (1 + d) per image, in input order' },
  },
  params: z.object({}),
  async run(ctx, { images, reference }) {
    if (!reference.length) throw new Error('inputs.reference: no reference images');
    const ref = meanGrams(await Promise.all(reference.map(styleGrams)));
    const d = await Promise.all(images.map(async (img) => gramDistance(await styleGrams(img), ref)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const scores = d.map((x) => 1 / (1 + x));
    return { style: mean(scores), distance: mean(d), scores };
  },
});

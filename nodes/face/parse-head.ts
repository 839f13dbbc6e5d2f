import { z } from 'zod';
import { compositeOnWhite, DEFAULT_HEAD_MASK, headMask } from '../../models/preprocess/head-mask.ts';
import type { FaceItem } from '../../models/preprocess/values.ts';
import { defineNode } from '../../runtime/node.ts';
import { faceModels } from './face-models.ts';

export default defineNode({
  type: 'face/parse-head',
  version: 1,
  category: 'face',
  title: 'Head mask',
  description:
    'Keeps the head and drops the rest, as FaceChain trains on: the face oval from the mesh plus the person pixels (segmentation model) around it where hair grows, ' +
    'down to the chin line; everything else becomes white. FaceChain reads face and hair from a human-parsing network instead; long hair below the chin is cut here.',
  inputs: { faces: { type: 'FACES' } },
  outputs: {
    faces: { type: 'FACES', description: 'The faces with their head masks, pixels composited on white' },
    images: { type: 'IMAGES', description: 'The heads on white' },
    masks: { type: 'IMAGES', description: 'The head masks (one channel)' },
  },
  params: z.object({
    model: z.enum(['selfie', 'meet']).default('selfie').meta({ description: 'Person segmentation model' }),
    hairWidth: z.number().min(0).max(2).default(DEFAULT_HEAD_MASK.hairWidth).meta({ description: 'How far hair may reach beside the face, in face widths', step: 0.05 }),
    hairHeight: z.number().min(0).max(2).default(DEFAULT_HEAD_MASK.hairHeight).meta({ description: 'How far hair may reach above the face, in face heights', step: 0.05 }),
    feather: z.number().min(0).max(10).default(DEFAULT_HEAD_MASK.feather).meta({ description: 'Edge softening, pixels', step: 0.5 }),
  }),
  async run(ctx, { faces }, p) {
    const input = faces;
    const models = faceModels(ctx);
    const items: FaceItem[] = [];
    for (const [i, item] of input.items.entries()) {
      ctx.signal.throwIfAborted();
      const person = await models.segment(item.image, p.model);
      const mask = await headMask(person, item.face.mesh, { hairWidth: p.hairWidth, hairHeight: p.hairHeight, feather: p.feather });
      items.push({ ...item, image: compositeOnWhite(item.image, mask), mask });
      ctx.progress((i + 1) / input.items.length, item.photo);
    }
    ctx.preview(items.slice(0, 8).flatMap((it) => [it.image, it.mask!]));
    return { faces: { items, rejected: input.rejected }, images: items.map((it) => it.image), masks: items.map((it) => it.mask!) };
  },
});

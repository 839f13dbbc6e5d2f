import { z } from 'zod';
import { FaceDetailOptionsSchema, ovalMask } from '../../models/post/face-detail.ts';
import { largestFace } from '../../models/post/template-face.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Mask } from '../../runtime/values.ts';
import { faceModels } from './face-models.ts';

const d = FaceDetailOptionsSchema.shape;

export default defineNode({
  type: 'face/mask',
  version: 1,
  category: 'face',
  title: 'Face mask',
  description:
    'A mask of the face region for inpainting (white = repaint): the face oval from the face mesh, grown by `dilation` and feathered inside ' +
    'that outline, of the largest face or of every face. Wire it with the same image into the sampler\'s mask and image inputs to put a ' +
    'new face into a template photo while its pose, clothes and background stay.',
  inputs: { image: { type: 'IMAGE', description: 'The photo whose face region is repainted (e.g. a template photo)' } },
  outputs: { mask: { type: 'MASK', description: 'The face region at the image\'s size' } },
  params: z.object({
    faces: z.enum(['largest', 'all']).default('largest'),
    dilation: d.dilation.meta({ description: 'Growth of the face oval, as a fraction of the face size', step: 0.01 }),
    feather: d.feather.meta({ description: 'Softness of the edge (inside the grown oval), as a fraction of the face size', step: 0.01 }),
  }),
  async run(ctx, { image }, p) {
    const found = await faceModels(ctx).detect(image);
    const faces = p.faces === 'all' ? found : [largestFace(found)].filter((f) => f !== undefined);
    if (!faces.length) throw new Error(`inputs.image: no face found${image.name ? ` in ${image.name}` : ''}`);
    const frame = { x: 0, y: 0, scale: 1, width: image.width, height: image.height };
    const masks = await Promise.all(faces.map((f) => ovalMask(f, frame, p)));
    const data = new Uint8Array(image.width * image.height);
    for (const m of masks) for (let i = 0; i < data.length; i++) data[i] = Math.max(data[i]!, m.data[i]!); // i < data.length: every mask has the image's size
    const mask: Mask = { width: image.width, height: image.height, channels: 1, data, name: image.name };
    ctx.log.info(`${image.name ?? 'image'}: mask of ${faces.length} of ${found.length} faces`);
    ctx.preview([mask]);
    return { mask };
  },
});

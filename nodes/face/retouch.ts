import { z } from 'zod';
import { skinMask } from '../../models/preprocess/face-regions.ts';
import { retouchSkin } from '../../models/preprocess/retouch.ts';
import type { FaceItem } from '../../models/preprocess/values.ts';
import { defineNode } from '../../runtime/node.ts';

export default defineNode({
  type: 'face/retouch',
  version: 1,
  category: 'face',
  title: 'Retouch skin',
  description:
    'Smooths the skin (FaceChain runs a skin-retouching network here): an edge-preserving guided filter blended in through a skin mask drawn from the face mesh, ' +
    'the face oval without eyes, brows and lips, so those stay sharp. Runs on the crops.',
  inputs: { faces: { type: 'FACES' } },
  outputs: {
    faces: { type: 'FACES', description: 'The faces with retouched skin' },
    images: { type: 'IMAGES', description: 'The retouched crops' },
  },
  params: z.object({
    strength: z.number().min(0).max(1).default(0.6).meta({ description: '0 = unchanged, 1 = fully smoothed skin', step: 0.05 }),
    radius: z.number().min(0.005).max(0.2).default(0.03).meta({ description: 'Filter radius as a fraction of the face width', step: 0.005 }),
    detail: z.number().min(0.001).max(0.2).default(0.02).meta({ description: 'Contrast kept as detail (guided-filter eps is its square); larger smooths more', step: 0.005 }),
  }),
  async run(ctx, { faces }, p) {
    const input = faces;
    const items: FaceItem[] = [];
    const previews = [];
    for (const [i, item] of input.items.entries()) {
      ctx.signal.throwIfAborted();
      const faceWidth = item.face.box.width;
      const skin = await skinMask(item.face.mesh, item.image.width, item.image.height, Math.max(1, faceWidth / 80));
      const image = retouchSkin(item.image, skin, { strength: p.strength, radius: Math.max(1, Math.round(p.radius * faceWidth)), eps: p.detail ** 2 });
      items.push({ ...item, image: { ...image, name: item.image.name } });
      if (previews.length < 8) previews.push(item.image, image);
      ctx.progress((i + 1) / input.items.length, item.photo);
    }
    ctx.preview(previews);
    return { faces: { items, rejected: input.rejected }, images: items.map((it) => it.image) };
  },
});

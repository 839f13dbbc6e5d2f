import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';

export default defineNode({
  type: 'image/crop',
  version: 1,
  category: 'image',
  title: 'Crop',
  description: 'Cuts a rectangle out of every image, in pixels from the top-left corner. The rectangle must lie inside each image.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES' } },
  params: z.object({
    left: z.number().int().min(0).max(65_535).default(0),
    top: z.number().int().min(0).max(65_535).default(0),
    width: z.number().int().min(1).max(65_535).default(512),
    height: z.number().int().min(1).max(65_535).default(512),
  }),
  async run(ctx, { images }, p) {
    const out = [];
    for (const img of images) {
      if (p.left + p.width > img.width || p.top + p.height > img.height) {
        throw new Error(
          `params: the crop ${p.width}x${p.height} at (${p.left}, ${p.top}) leaves image "${img.name ?? '?'}" (${img.width}x${img.height})`,
        );
      }
      out.push(await toImage(fromImage(img).extract({ left: p.left, top: p.top, width: p.width, height: p.height }), img.name));
    }
    ctx.preview(out.slice(0, 8));
    return { images: out };
  },
});

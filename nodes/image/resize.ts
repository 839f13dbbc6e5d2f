import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { imagesEstimate } from '../../runtime/memory-estimate.ts';
import { colourParam } from '../../runtime/params.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';

export default defineNode({
  type: 'image/resize',
  version: 1,
  category: 'image',
  title: 'Resize',
  description:
    'Resizes every image. "cover" fills the box and crops, "contain" fits inside and pads with the background, "fill" stretches, "inside" keeps the aspect ratio within the box.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES' } },
  params: z.object({
    width: z.number().int().min(1).max(8192).default(512).meta({ step: 8 }),
    height: z.number().int().min(1).max(8192).default(512).meta({ step: 8 }),
    fit: z.enum(['cover', 'contain', 'fill', 'inside']).default('cover'),
    kernel: z.enum(['lanczos3', 'cubic', 'mitchell', 'linear', 'nearest']).default('lanczos3'),
    background: colourParam('#ffffff', 'Padding colour for "contain"'),
  }),
  estimate: (_ctx, { images }, p) => ({
    images: imagesEstimate({ count: images?.images?.count ?? 0, width: p.width, height: p.height, channels: images?.images?.channels ?? 4 }),
  }),
  async run(ctx, { images }, p) {
    const out = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      out.push(await toImage(fromImage(img).resize(p.width, p.height, { fit: p.fit, kernel: p.kernel, background: p.background }), img.name));
      ctx.progress((i + 1) / images.length);
    }
    ctx.preview(out.slice(0, 8));
    return { images: out };
  },
});

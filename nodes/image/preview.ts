import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';

export default defineNode({
  type: 'image/preview',
  version: 1,
  category: 'image',
  title: 'Preview',
  description: 'Shows images in the editor (and streams them to every watcher of the run) without saving them.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: {},
  params: z.object({
    max: z.number().int().min(1).max(64).default(16).meta({ description: 'Show at most this many images' }),
  }),
  cacheable: false,
  run(ctx, { images }, p) {
    ctx.preview(images.slice(0, p.max));
    return {};
  },
});

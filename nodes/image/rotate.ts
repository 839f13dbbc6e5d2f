import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { colourParam } from '../../runtime/params.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';

export default defineNode({
  type: 'image/rotate',
  version: 1,
  category: 'image',
  title: 'Rotate',
  description: 'Rotates every image clockwise by an angle in degrees; the canvas grows to keep all pixels and new corners take the background colour.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES' } },
  params: z.object({
    angle: z.number().min(-360).max(360).default(90).meta({ step: 1 }),
    background: colourParam('#ffffff', 'Colour of the corners a rotation uncovers'),
  }),
  async run(ctx, { images }, p) {
    const out = [];
    for (const img of images) out.push(await toImage(fromImage(img).rotate(p.angle, { background: p.background }), img.name));
    ctx.preview(out.slice(0, 8));
    return { images: out };
  },
});

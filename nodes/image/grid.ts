import sharp from 'sharp';
import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { imagesEstimate } from '../../runtime/memory-estimate.ts';
import { colourParam } from '../../runtime/params.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';

function sheetSize(count: number, p: { columns: number; cell: number; gap: number }) {
  const columns = p.columns || Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  return { columns, width: columns * p.cell + (columns + 1) * p.gap, height: rows * p.cell + (rows + 1) * p.gap };
}

export default defineNode({
  type: 'image/grid',
  version: 1,
  category: 'image',
  title: 'Grid',
  description: 'Lays the images out as a contact sheet: each fitted into a square cell, row by row.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { image: { type: 'IMAGE' } },
  params: z.object({
    columns: z.number().int().min(0).max(64).default(0).meta({ description: '0 = about square' }),
    cell: z.number().int().min(16).max(2048).default(256).meta({ description: 'Cell size in pixels', step: 16 }),
    gap: z.number().int().min(0).max(256).default(4),
    background: colourParam('#ffffff', 'Colour between and around cells'),
  }),
  estimate: (_ctx, { images }, p) => ({ image: imagesEstimate({ count: 1, ...sheetSize(images?.images?.count ?? 1, p), channels: 3 }) }),
  async run(ctx, { images }, p) {
    if (!images.length) throw new Error('inputs.images: no images to lay out');
    const { columns, width, height } = sheetSize(images.length, p);
    const tiles = await Promise.all(
      images.map(async (img, i) => ({
        input: await fromImage(img).resize(p.cell, p.cell, { fit: 'contain', background: p.background }).png().toBuffer(),
        left: p.gap + (i % columns) * (p.cell + p.gap),
        top: p.gap + Math.floor(i / columns) * (p.cell + p.gap),
      })),
    );
    const canvas = sharp({ create: { width, height, channels: 3, background: p.background } }).composite(tiles);
    const image = await toImage(sharp(await canvas.png().toBuffer()).removeAlpha(), 'grid');
    ctx.preview(image);
    return { image };
  },
});

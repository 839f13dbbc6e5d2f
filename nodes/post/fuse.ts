import { z } from 'zod';
import { DEFAULT_FUSE, fuseFace } from '../../models/post/fuse.ts';
import { detectTemplateFace, largestFace } from '../../models/post/template-face.ts';
import { defineNode } from '../../runtime/node.ts';
import type { Image } from '../../runtime/values.ts';
import { faceModels } from '../face/face-models.ts';

export const TYPE = 'face/fuse';

export default defineNode({
  type: TYPE,
  version: 2,
  category: 'face',
  title: 'Fuse face',
  description:
    "Brings the template face's detail and identity into each generated portrait (FaceChain runs a face-fusion network here). " +
    'The largest face is found in the template and in each portrait; the template is warped onto it triangle by triangle over the 468 face-mesh points (or only aligned by a least-squares similarity), ' +
    "its colours are matched to the portrait's face (mean and spread per channel), and it is blended in through a feathered mask inside both face ovals, so hair, " +
    'background and everything outside the face stay exactly as generated. A portrait without a face passes through unchanged (the log says so).',
  inputs: {
    images: { type: 'IMAGES', description: 'Generated portraits' },
    template: { type: 'IMAGE', description: "The user's face, e.g. the template output of Select by quality" },
  },
  outputs: { images: { type: 'IMAGES', description: 'The portraits with the template face fused in, in input order' } },
  params: z.object({
    warp: z.enum(['mesh', 'similarity']).default(DEFAULT_FUSE.warp).meta({ description: "mesh: each triangle of the face mesh onto its match, so the template follows the portrait's pose and expression; similarity: move, scale and turn only" }),
    strength: z.number().min(0).max(1).default(DEFAULT_FUSE.strength).meta({ description: 'How much of the template face goes in: 0 = none, 1 = all of it inside the mask', step: 0.05 }),
    feather: z.number().min(0).max(0.25).default(DEFAULT_FUSE.feather).meta({ description: "Softness of the mask edge (blur sigma) as a fraction of the face's width; the edge is pulled inwards by twice as much", step: 0.01 }),
    matchColour: z.boolean().default(DEFAULT_FUSE.matchColour).meta({ description: "Match the template face's colours to the portrait's face before blending" }),
  }),
  async run(ctx, { images, template }, p) {
    const models = faceModels(ctx);
    const templateFace = await detectTemplateFace(models, template);
    const out: Image[] = [];
    const previews: Image[] = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      const name = img.name ?? `image ${i}`;
      const faces = await models.detect(img);
      const face = largestFace(faces);
      let fused = img;
      if (!face) ctx.log.warn(`${name}: no face found, passed through unchanged`);
      else {
        if (faces.length > 1) ctx.log.info(`${name}: ${faces.length} faces, fusing into the largest`);
        const r = await fuseFace(img, face, template, templateFace, p);
        if ('reason' in r) ctx.log.warn(`${name}: ${r.reason}, passed through unchanged`);
        else {
          fused = { ...r.image, name: img.name };
          ctx.log.info(`${name}: fused (mesh alignment error ${(100 * r.alignmentError).toFixed(1)}% of the face width)`);
        }
      }
      out.push(fused);
      if (previews.length < 8) {
        previews.push(img, fused);
        ctx.preview(previews);
      }
      ctx.progress((i + 1) / images.length, name);
    }
    return { images: out };
  },
});

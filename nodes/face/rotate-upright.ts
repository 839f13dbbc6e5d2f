import { z } from 'zod';
import { pickQuarterTurn, QUARTER_TURNS, uprightScore, type QuarterTurn } from '../../models/preprocess/upright.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import { defineNode } from '../../runtime/node.ts';
import { faceModels } from './face-models.ts';

export default defineNode({
  type: 'face/rotate-upright',
  version: 1,
  category: 'face',
  title: 'Rotate upright',
  description:
    'Turns sideways and upside-down photos upright. EXIF orientation is applied by the load node (its "applyExif" param, on by default); ' +
    'this node fixes photos whose pixels are turned without a tag saying so: it runs the face detector on the four quarter turns of a ' +
    'small copy and keeps the turn with the most confident upright face (FaceChain step "rotate"); a photo whose upright face is already sure skips the other three. Photos without any face stay as they are.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES', description: 'The photos, each in its upright orientation' } },
  params: z.object({
    enabled: z.boolean().default(true).meta({ description: 'Off: pass the photos through unchanged' }),
    sure: z.number().min(0).max(1).default(0.75).meta({ description: 'Skip the other three turns when the photo as taken shows an upright face this confident (1 = always try all four)', step: 0.05 }),
    voteSize: z.number().int().min(128).max(2048).default(640).meta({ description: 'Longest side of the copy the four detections run on, pixels', step: 32 }),
  }),
  async run(ctx, { images }, p) {
    if (!p.enabled) return { images };
    const models = faceModels(ctx);
    const out = [];
    const turned = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      const k = Math.min(1, p.voteSize / Math.max(img.width, img.height));
      const small = await toImage(fromImage(img).resize(Math.round(img.width * k), Math.round(img.height * k), { fit: 'fill' }));
      const scores = { 0: 0, 90: 0, 180: 0, 270: 0 } as Record<QuarterTurn, number>;
      for (const t of QUARTER_TURNS) {
        scores[t] = uprightScore(await models.detect(t ? await toImage(fromImage(small).rotate(t)) : small));
        if (t === 0 && scores[0] >= p.sure) break;
      }
      const turn = pickQuarterTurn(scores);
      if (turn) {
        const upright = await toImage(fromImage(img).rotate(turn), img.name);
        out.push(upright);
        turned.push(upright);
        ctx.log.info(`${img.name ?? `image ${i}`}: turned ${turn} degrees clockwise (upright face ${scores[turn].toFixed(2)} vs ${scores[0].toFixed(2)} as taken)`);
      } else {
        out.push(img);
      }
      ctx.progress((i + 1) / images.length, img.name);
    }
    ctx.preview((turned.length ? turned : out).slice(0, 8));
    return { images: out };
  },
});

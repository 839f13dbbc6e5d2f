import { z } from 'zod';
import { pickDominantFace } from '../../models/preprocess/face-rule.ts';
import { faceSet, type FaceItem, type Rejection } from '../../models/preprocess/values.ts';
import { at } from '../../protocol/index.ts';
import { defineNode } from '../../runtime/node.ts';
import { drawOverlays } from './draw.ts';
import { faceModels } from './face-models.ts';

export const TYPE = 'face/detect';

export default defineNode({
  type: TYPE,
  version: 1,
  category: 'face',
  title: 'Detect face',
  description:
    'Finds faces (BlazeFace, refined by FaceMesh: box, confidence, 5 landmarks, 468-point mesh) and keeps the one the photo is about. ' +
    "FaceChain's rule by default: with several faces the largest must be at least 4x the area of the next, else the photo is dropped; " +
    'a photo without a face is dropped too. Dropped photos are listed with their reason in the FACES value.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { faces: { type: 'FACES', description: 'One face per kept photo, and the dropped photos with reasons' } },
  params: z.object({
    minScore: z.number().min(0.05).max(1).default(0.3).meta({ description: 'Detector confidence a face needs', step: 0.05 }),
    minAreaRatio: z.number().min(1).max(100).default(4).meta({ description: "How much larger than the next face the subject's face must be (area ratio; FaceChain: 4)" }),
    tiles: z.number().int().min(1).max(4).default(1).meta({ description: 'Also search an n x n grid of tiles, for faces smaller than about 1/20 of the photo' }),
  }),
  async run(ctx, { images }, p) {
    const models = faceModels(ctx);
    const items: FaceItem[] = [];
    const rejected: Rejection[] = [];
    let previews = 0;
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      const photo = img.name ?? `image ${i}`;
      const faces = await models.detect(img, { minScore: p.minScore, tiles: p.tiles });
      const pick = pickDominantFace(faces.map((f) => f.box), p.minAreaRatio);
      if ('reason' in pick) rejected.push({ photo, stage: TYPE, reason: pick.reason });
      else {
        const face = at(faces, pick.index, 'face');
        items.push({ photo, image: img, face, faceSizeInPhoto: Math.max(face.box.width, face.box.height), rotation: 0 });
      }
      if (previews++ < 8) {
        const chosen = 'index' in pick ? pick.index : -1;
        const overlays = faces.map((f, j) => ({ box: f.box, landmarks: f.landmarks, label: f.score.toFixed(2), colour: j === chosen ? '#00e676' : '#ff5252' }));
        ctx.preview(await drawOverlays(img, overlays));
      }
      ctx.progress((i + 1) / images.length, photo);
    }
    for (const r of rejected) ctx.log.warn(`${r.photo}: ${r.reason}`);
    return { faces: faceSet(items, rejected) };
  },
});

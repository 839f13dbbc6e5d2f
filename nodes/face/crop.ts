import { z } from 'zod';
import { applyAffine } from '../../models/face/geometry.ts';
import type { DetectedFace } from '../../models/face/types.ts';
import { cropMap, cropSquare, faceCropSquare, FACECHAIN_FACE_CENTRE_Y, FACECHAIN_FACE_RATIO } from '../../models/preprocess/crop.ts';
import type { FaceItem } from '../../models/preprocess/values.ts';
import { defineNode } from '../../runtime/node.ts';
import { seedParam } from '../../runtime/params.ts';
import type { Affine } from '../../models/face/geometry.ts';
import { drawOverlays } from './draw.ts';

/** The face moved into crop pixels (a crop is a shift and a uniform scale). */
export function mapFace(face: DetectedFace, m: Affine): DetectedFace {
  const s = m[0];
  const tl = applyAffine(m, face.box);
  return {
    ...face,
    box: { x: tl.x, y: tl.y, width: face.box.width * s, height: face.box.height * s },
    landmarks: face.landmarks.map((p) => applyAffine(m, p)) as DetectedFace['landmarks'],
    mesh: face.mesh.map((p) => ({ ...applyAffine(m, p), z: p.z * s })),
  };
}

export default defineNode({
  type: 'face/crop',
  version: 1,
  category: 'face',
  title: 'Crop face',
  description:
    'Square crop around the face, centred horizontally, the face (larger side of its box) a set fraction of the side; whatever lies outside the photo is white; resized to 512. ' +
    "Default face fraction 0.304 and centre height 0.435 are FaceChain's code (0.35/1.15 and 0.5/1.15); the paper gives 0.35-0.45, which later FaceChain code draws at random: " +
    'set "faceRatioMax" above "faceRatio" for a seeded random fraction per photo.',
  inputs: { faces: { type: 'FACES' } },
  outputs: {
    faces: { type: 'FACES', description: 'The faces in their crops' },
    images: { type: 'IMAGES', description: 'The crops' },
  },
  params: z.object({
    faceRatio: z.number().min(0.1).max(0.9).default(FACECHAIN_FACE_RATIO).meta({ description: 'Face size as a fraction of the crop side (FaceChain code 0.304; paper 0.35-0.45)', step: 0.01 }),
    faceRatioMax: z.number().min(0).max(0.9).default(0).meta({ description: 'Above faceRatio: draw the fraction uniformly from [faceRatio, faceRatioMax] per photo (paper: 0.35 to 0.45); 0 = fixed', step: 0.01 }),
    faceCentreY: z.number().min(0.2).max(0.8).default(FACECHAIN_FACE_CENTRE_Y).meta({ description: 'Height of the face centre from the top, as a fraction of the crop (FaceChain 0.435)', step: 0.01 }),
    size: z.number().int().min(64).max(2048).default(512).meta({ description: 'Output side, pixels', step: 64 }),
    seed: seedParam(),
  }),
  async run(ctx, { faces }, p) {
    const input = faces;
    const items: FaceItem[] = [];
    for (const [i, item] of input.items.entries()) {
      ctx.signal.throwIfAborted();
      const ratio = p.faceRatioMax > p.faceRatio ? ctx.rng.fork(item.photo).range(p.faceRatio, p.faceRatioMax) : p.faceRatio;
      const sq = faceCropSquare(item.face.box, ratio, p.faceCentreY);
      const image = await cropSquare(item.image, sq, p.size);
      items.push({ ...item, image, face: mapFace(item.face, cropMap(sq, p.size)) });
      ctx.progress((i + 1) / input.items.length, item.photo);
    }
    ctx.preview(await Promise.all(items.slice(0, 8).map((it) => drawOverlays(it.image, [{ box: it.face.box, landmarks: it.face.landmarks }]))));
    return { faces: { items, rejected: input.rejected }, images: items.map((it) => it.image) };
  },
});

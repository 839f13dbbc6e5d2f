import { z } from 'zod';
import { iou } from '../../models/face/geometry.ts';
import type { Box } from '../../models/face/types.ts';
import { rollCorrection } from '../../models/preprocess/align.ts';
import { faceSet, type FaceItem } from '../../models/preprocess/values.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import { defineNode } from '../../runtime/node.ts';
import { drawOverlays } from './draw.ts';
import { faceModels } from './face-models.ts';

export const TYPE = 'face/align';

/** Where a box lands when sharp turns a w x h image by `deg` clockwise (about its centre, canvas grown to fit). */
export function rotateBox(box: Box, w: number, h: number, deg: number, outW: number, outH: number): Box {
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const x = box.x + box.width / 2 - w / 2;
  const y = box.y + box.height / 2 - h / 2;
  const cx = c * x - s * y + outW / 2;
  const cy = s * x + c * y + outH / 2;
  return { x: cx - box.width / 2, y: cy - box.height / 2, width: box.width, height: box.height };
}

export default defineNode({
  type: TYPE,
  version: 1,
  category: 'face',
  title: 'Align face',
  description:
    "Levels the face (FaceChain, section 3.1): the landmarks and FaceChain's standard face are normalised (mean removed, divided by the standard deviation), " +
    'the least-squares R = ((P1ᵀP1)⁻¹P1ᵀP2)ᵀ is solved and the photo is turned by θ = atan(R21/R22) about its centre, the canvas grown with white (no scaling); ' +
    'the face is then detected again. The paper fits all five points; by default the nose tip is left out, because it stands out of the face plane and tilts the fit ' +
    'on turned heads (eye line off by up to 5 degrees with it, within 2 without it on the demo faces).',
  inputs: { faces: { type: 'FACES' } },
  outputs: { faces: { type: 'FACES', description: 'The same faces in their levelled photos' } },
  params: z.object({
    enabled: z.boolean().default(true).meta({ description: 'Off: pass the faces through unchanged' }),
    withNose: z.boolean().default(false).meta({ description: "Fit the nose tip too (the paper's five points); off: eyes and mouth corners" }),
    minAngle: z.number().min(0).max(10).default(0.1).meta({ description: 'Smaller corrections (degrees) are skipped', step: 0.1 }),
  }),
  async run(ctx, { faces }, p) {
    if (!p.enabled) return { faces };
    const models = faceModels(ctx);
    const input = faces;
    const items: FaceItem[] = [];
    const rejected = [...input.rejected];
    for (const [i, item] of input.items.entries()) {
      ctx.signal.throwIfAborted();
      const deg = (rollCorrection(item.face.landmarks, p.withNose) * 180) / Math.PI;
      if (Math.abs(deg) < p.minAngle) items.push(item);
      else {
        const { image } = item;
        const turned = await toImage(fromImage(image).rotate(deg, { background: '#ffffff' }), image.name);
        const expected = rotateBox(item.face.box, image.width, image.height, deg, turned.width, turned.height);
        // The subject is the re-detected face where the old one landed (others may be bystanders).
        const found = (await models.detect(turned)).map((f) => ({ f, overlap: iou(f.box, expected) })).sort((a, b) => b.overlap - a.overlap)[0];
        if (!found || found.overlap < 0.3) {
          rejected.push({ photo: item.photo, stage: TYPE, reason: `face lost after turning the photo by ${deg.toFixed(1)} degrees` });
        } else {
          items.push({ ...item, image: turned, face: found.f, rotation: item.rotation + deg });
        }
      }
      const last = items.at(-1);
      if (i < 8 && last?.photo === item.photo) {
        const eyes = (last.face.landmarks[0].y + last.face.landmarks[1].y) / 2;
        ctx.preview(await drawOverlays(last.image, [{ box: last.face.box, landmarks: last.face.landmarks, level: eyes, label: `${(last.rotation).toFixed(1)}°` }]));
      }
      ctx.progress((i + 1) / input.items.length, item.photo);
    }
    return { faces: faceSet(items, rejected) };
  },
});

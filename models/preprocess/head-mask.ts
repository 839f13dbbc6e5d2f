// The head mask FaceChain trains on (face + hair, limited to the person, on white). FaceChain reads
// face and hair from a human-parsing network; without one we take the person mask from the
// segmentation model and keep the part of it around the head: the face oval from the mesh always,
// plus person pixels within an ellipse above and beside the face where hair grows, down to the
// chin line (long hair below the chin is cut there). The face is assumed level (after alignment).
import { boundingBox } from '../face/geometry.ts';
import type { Point } from '../face/types.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import type { Image, Mask } from '../../runtime/values.ts';
import { contour, FACE_OVAL, renderMask, svgPath } from './face-regions.ts';

export interface HeadMaskOptions {
  /** How far hair may reach beside the face, in face widths from each side of the oval. */
  hairWidth: number;
  /** How far hair may reach above the oval's top, in face heights. */
  hairHeight: number;
  /** Softening of the mask edge, pixels. */
  feather: number;
}

export const DEFAULT_HEAD_MASK: HeadMaskOptions = { hairWidth: 0.45, hairHeight: 0.55, feather: 1.5 };

/** Face oval ∪ (person ∩ hair region), feathered. `person` is 0..255 at the image size. */
export async function headMask(person: Mask, mesh: readonly Point[], opts: HeadMaskOptions = DEFAULT_HEAD_MASK): Promise<Mask> {
  const { width, height } = person;
  const oval = contour(mesh, FACE_OVAL);
  const b = boundingBox(oval);
  const cx = b.x + b.width / 2;
  const rx = b.width * (0.5 + opts.hairWidth);
  const top = b.y - b.height * opts.hairHeight;
  const chin = b.y + b.height;
  // An ellipse from the hair's top to just below the chin, cut flat at the chin line: widest around
  // the eyes (hair at the temples), narrowing towards the jaw so shoulders and hands stay out.
  const bottom = chin + 0.1 * b.height;
  const region = await renderMask(
    width,
    height,
    `<clipPath id="c"><rect x="0" y="0" width="${width}" height="${chin.toFixed(1)}"/></clipPath>` +
      `<ellipse cx="${cx.toFixed(1)}" cy="${((top + bottom) / 2).toFixed(1)}" rx="${rx.toFixed(1)}" ry="${((bottom - top) / 2).toFixed(1)}" fill="#fff" clip-path="url(#c)"/>`,
  );
  const face = await renderMask(width, height, `<path d="${svgPath(oval)}" fill="#fff"/>`);
  const hard = new Uint8Array(width * height);
  for (let i = 0; i < hard.length; i++) hard[i] = face.data[i]! > 127 || (region.data[i]! > 127 && person.data[i]! > 127) ? 255 : 0;
  if (opts.feather <= 0) return { width, height, channels: 1, data: hard };
  const soft = await toImage(fromImage({ width, height, channels: 1, data: hard }).blur(opts.feather).extractChannel(0));
  return { width, height, channels: 1, data: soft.data };
}

/** The image over white through the mask (FaceChain: `im * mask + 255 * (1 - mask)`); RGB out. */
export function compositeOnWhite(image: Image, mask: Mask): Image {
  const { width, height, channels } = image;
  if (mask.width !== width || mask.height !== height) throw new Error('mask and image differ in size');
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const m = mask.data[i]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(image.data[i * channels + c]! * m + 255 * (1 - m));
  }
  return { width, height, channels: 3, data: out, name: image.name };
}

// FaceChain's training crop: a square around the face, the face a fixed fraction of its side,
// centred horizontally and a little above the middle; outside the photo is white; resized to 512.
import type { Affine } from '../face/geometry.ts';
import type { Box } from '../face/types.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';

/** FaceChain's code: `thre = 0.35/1.15` (the paper's text says 0.35-0.45, its later code draws from that range). */
export const FACECHAIN_FACE_RATIO = 0.35 / 1.15;
/** FaceChain's code: the face centre at `yc = 0.5/1.15` of the crop height from the top. */
export const FACECHAIN_FACE_CENTRE_Y = 0.5 / 1.15;

/** A square region of the image in whole pixels; it may reach outside the image. */
export interface CropSquare { left: number; top: number; size: number }

/** The crop whose side makes the face (the larger side of its box) `faceRatio` of it. */
export function faceCropSquare(box: Box, faceRatio: number, centreY = FACECHAIN_FACE_CENTRE_Y): CropSquare {
  if (!(faceRatio > 0 && faceRatio <= 1)) throw new Error(`face ratio ${faceRatio} must be in (0, 1]`);
  const size = Math.max(1, Math.round(Math.max(box.width, box.height) / faceRatio));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { left: Math.round(cx - size / 2), top: Math.round(cy - centreY * size), size };
}

/** Image -> output map of a crop square resized to `outSize`. */
export function cropMap(sq: CropSquare, outSize: number): Affine {
  const s = outSize / sq.size;
  return [s, 0, -sq.left * s, 0, s, -sq.top * s];
}

/** Cuts the square out (white where it leaves the image) and resizes it to `outSize` (RGB out). */
export async function cropSquare(image: Image, sq: CropSquare, outSize: number): Promise<Image> {
  const x0 = Math.max(0, sq.left);
  const y0 = Math.max(0, sq.top);
  const x1 = Math.min(image.width, sq.left + sq.size);
  const y1 = Math.min(image.height, sq.top + sq.size);
  if (x1 <= x0 || y1 <= y0) throw new Error('the crop lies entirely outside the image');
  // sharp runs extend after resize within one pipeline, so the padded square is built first.
  const square = await toImage(
    fromImage(image)
      .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
      .extend({ left: x0 - sq.left, top: y0 - sq.top, right: sq.left + sq.size - x1, bottom: sq.top + sq.size - y1, background: '#ffffff' })
      .flatten({ background: '#ffffff' }),
  );
  return toImage(fromImage(square).resize(outSize, outSize, { fit: 'fill', kernel: 'lanczos3' }), image.name);
}

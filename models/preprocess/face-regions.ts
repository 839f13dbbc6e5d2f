// Face regions from FaceMesh's 468 points (MediaPipe's canonical mesh topology), rasterised by
// sharp from an SVG: the skin the retoucher may touch, and the face oval the head mask builds on.
import sharp from 'sharp';
import { at } from '../../protocol/index.ts';
import type { Point } from '../face/types.ts';
import type { Mask } from '../../runtime/values.ts';

// Contours in MediaPipe's mesh numbering (as @vladmandic/human's facemeshcoords lists them).
const SILHOUETTE = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109];
const LIPS_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
const LIPS_LOWER = [146, 91, 181, 84, 17, 314, 405, 321, 375];
// The second ring around each eye (a little outside the lid line), and the whole brows.
const RIGHT_EYE_LOWER = [130, 25, 110, 24, 23, 22, 26, 112, 243];
const RIGHT_EYE_UPPER = [247, 30, 29, 27, 28, 56, 190];
const LEFT_EYE_LOWER = [359, 255, 339, 254, 253, 252, 256, 341, 463];
const LEFT_EYE_UPPER = [467, 260, 259, 257, 258, 286, 414];
const RIGHT_BROW_UPPER = [156, 70, 63, 105, 66, 107, 55, 193];
const RIGHT_BROW_LOWER = [35, 124, 46, 53, 52, 65];
const LEFT_BROW_UPPER = [383, 300, 293, 334, 296, 336, 285, 417];
const LEFT_BROW_LOWER = [265, 353, 276, 283, 282, 295];

/** A closed outline: one contour, then the other walked back. */
const ring = (a: number[], b: number[]) => [...a, ...[...b].reverse()];

export const FACE_OVAL = SILHOUETTE;
/** Eyes, brows and lips: kept out of the retouch. */
export const FEATURES = [
  ring(RIGHT_EYE_LOWER, RIGHT_EYE_UPPER),
  ring(LEFT_EYE_LOWER, LEFT_EYE_UPPER),
  ring(RIGHT_BROW_UPPER, RIGHT_BROW_LOWER),
  ring(LEFT_BROW_UPPER, LEFT_BROW_LOWER),
  ring(LIPS_UPPER, LIPS_LOWER),
];

export function contour(mesh: readonly Point[], indices: readonly number[]): Point[] {
  return indices.map((i) => at(mesh, i, 'mesh point'));
}

export function svgPath(points: readonly Point[]): string {
  return `M${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('L')}Z`;
}

/** SVG shapes rendered into a one-channel mask: white where drawn white, then blurred by `feather` px. */
export async function renderMask(width: number, height: number, shapesSvg: string, feather = 0): Promise<Mask> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#000"/>${shapesSvg}</svg>`;
  let p = sharp(Buffer.from(svg), { density: 72 }).resize(width, height, { fit: 'fill' }).extractChannel(0);
  if (feather > 0.3) p = p.blur(feather);
  const data = await p.raw().toBuffer();
  return { width, height, channels: 1, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** The skin inside the face oval without eyes, brows and lips, softened at its edges. */
export function skinMask(mesh: readonly Point[], width: number, height: number, feather: number): Promise<Mask> {
  const holes = FEATURES.map((f) => `<path d="${svgPath(contour(mesh, f))}" fill="#000" stroke="#000" stroke-width="${(2 * feather).toFixed(1)}"/>`);
  return renderMask(width, height, `<path d="${svgPath(contour(mesh, FACE_OVAL))}" fill="#fff"/>${holes.join('')}`, feather);
}

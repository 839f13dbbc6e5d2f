// Preview drawing for the face nodes: boxes, the five landmarks and a label over the image, drawn
// by sharp from an SVG overlay. Previews are small, so big photos are shrunk before drawing.
import type { Box, Point } from '../../models/face/types.ts';
import { fromImage, toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';

export interface Overlay {
  box?: Box;
  landmarks?: readonly Point[];
  /** A horizontal line through this y (e.g. the eye line after alignment). */
  level?: number;
  label?: string;
  colour?: string;
}

const PREVIEW_SIDE = 512;
const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function drawOverlays(image: Image, overlays: readonly Overlay[]): Promise<Image> {
  const k = Math.min(1, PREVIEW_SIDE / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * k));
  const height = Math.max(1, Math.round(image.height * k));
  const line = Math.max(1.5, width / 256);
  const parts: string[] = [];
  for (const o of overlays) {
    const c = o.colour ?? '#00e676';
    if (o.box) {
      const { x, y, width: w, height: h } = o.box;
      parts.push(`<rect x="${x * k}" y="${y * k}" width="${w * k}" height="${h * k}" fill="none" stroke="${c}" stroke-width="${line}"/>`);
      if (o.label) parts.push(`<text x="${x * k}" y="${Math.max(12, y * k - 4)}" font-family="sans-serif" font-size="${Math.max(11, width / 40)}" fill="${c}">${escapeXml(o.label)}</text>`);
    }
    if (o.level !== undefined) parts.push(`<line x1="0" x2="${width}" y1="${o.level * k}" y2="${o.level * k}" stroke="${c}" stroke-dasharray="6 4" stroke-width="${line / 2}"/>`);
    for (const p of o.landmarks ?? []) parts.push(`<circle cx="${p.x * k}" cy="${p.y * k}" r="${line * 1.5}" fill="${c}"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
  let p = fromImage(image);
  if (k < 1) p = p.resize(width, height, { fit: 'fill' });
  return toImage(p.removeAlpha().composite([{ input: Buffer.from(svg), left: 0, top: 0 }]).removeAlpha(), image.name);
}

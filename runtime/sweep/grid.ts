// The labelled X/Y(/Z) grid, as A1111's X/Y/Z plot draws it: the axis names on top, X values across,
// Y values down the left, one block per Z value under its own heading; under each cell its first two
// scores' means (and the half-width of their 95 % intervals when there are several seeds). Text is an SVG
// overlay composited by sharp.
import sharp, { type OverlayOptions } from 'sharp';
import { fromImage, toImage } from '../image-io.ts';
import type { Image } from '../values.ts';
import type { CellSummary } from '../../protocol/index.ts';
import { at, showValue, type AxisValue } from '../../protocol/index.ts';

export interface GridInput {
  labels: string[];
  values: AxisValue[][];
  /** The cell's first image by "x,y,z"; a cell not computed (cancelled) stays empty. */
  images: Map<string, Image>;
  summaries: CellSummary[];
  /** Scores written under each cell ("node.port"; the first two). */
  scores: string[];
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const FONT = 'font-family="sans-serif"';

export async function drawGrid(g: GridInput): Promise<Image> {
  const all = [...g.images.values()];
  const [w0, h0] = all.length ? [Math.max(...all.map((i) => i.width)), Math.max(...all.map((i) => i.height))] : [128, 128];
  // Small images are drawn larger, so their labels fit above them.
  const scale = Math.max(1, Math.ceil(128 / w0));
  const [cw, ch] = [w0 * scale, h0 * scale];
  const [nx, ny, nz] = [0, 1, 2].map((i) => g.values[i]?.length ?? 1) as [number, number, number];
  const shown = g.scores.slice(0, 2);
  const caption = shown.length ? 20 : 0;
  const yLabels = g.values.length > 1 ? at(g.values, 1).map((v) => clip(showValue(v), 30)) : [];
  const left = yLabels.length ? Math.ceil(Math.max(...yLabels.map((l) => l.length)) * 7.5) + 20 : 6;
  const title = 30;
  const top = 24;
  const zHead = g.values.length > 2 ? 30 : 0;
  const gap = 6;
  const blockH = zHead + top + ny * (ch + caption + gap);
  const width = Math.max(left + nx * (cw + gap) + gap, 360);
  const height = title + nz * blockH + gap;
  const axes = [`X: ${g.labels[0]}`, g.labels[1] && `Y: ${g.labels[1]}`, g.labels[2] && `Z: ${g.labels[2]}`].filter(Boolean).join(' · ');
  const text: string[] = [`<text x="${gap}" y="20" font-size="15" font-weight="bold" ${FONT}>${esc(clip(axes, width / 8))}</text>`];
  const tiles: OverlayOptions[] = [];
  const summary = new Map(g.summaries.map((s) => [s.at.join(','), s]));
  for (let z = 0; z < nz; z++) {
    const y0 = title + z * blockH;
    if (zHead) text.push(`<text x="${gap}" y="${y0 + 22}" font-size="15" font-weight="bold" ${FONT}>${esc(`${g.labels[2]}: ${clip(showValue(at(at(g.values, 2), z)), 60)}`)}</text>`);
    for (let x = 0; x < nx; x++) {
      const cx = left + x * (cw + gap) + cw / 2;
      text.push(`<text x="${cx}" y="${y0 + zHead + top - 7}" font-size="13" text-anchor="middle" ${FONT}>${esc(clip(showValue(at(at(g.values, 0), x)), Math.floor(cw / 7.5)))}</text>`);
    }
    for (let y = 0; y < ny; y++) {
      const cy = y0 + zHead + top + y * (ch + caption + gap);
      if (yLabels.length) text.push(`<text x="${left - 8}" y="${cy + ch / 2}" font-size="13" text-anchor="end" ${FONT}>${esc(at(yLabels, y))}</text>`);
      for (let x = 0; x < nx; x++) {
        const key = `${x},${y},${z}`;
        const px = left + x * (cw + gap);
        const img = g.images.get(key);
        if (img) tiles.push({ input: await fromImage(img).resize(cw, ch, { fit: 'contain', background: '#ffffff', kernel: 'nearest' }).png().toBuffer(), left: px, top: cy });
        else text.push(`<rect x="${px}" y="${cy}" width="${cw}" height="${ch}" fill="#eee"/><text x="${px + cw / 2}" y="${cy + ch / 2}" font-size="12" text-anchor="middle" fill="#888" ${FONT}>not computed</text>`);
        if (shown.length) {
          const s = shown.map((name) => {
            const m = summary.get(key)?.scores[name];
            const short = name.slice(name.lastIndexOf('.') + 1);
            return `${short} ${!m ? '-' : m.n > 1 ? `${m.mean.toFixed(3)}±${(m.high - m.mean).toFixed(2)}` : m.mean.toFixed(3)}`;
          });
          text.push(`<text x="${px + cw / 2}" y="${cy + ch + 15}" font-size="11" text-anchor="middle" ${FONT}>${esc(clip(s.join('  '), Math.floor(cw / 6)))}</text>`);
        }
      }
    }
  }
  tiles.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${text.join('')}</svg>`), left: 0, top: 0 });
  const canvas = sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(tiles);
  return toImage(sharp(await canvas.png().toBuffer()).removeAlpha(), 'grid.png');
}

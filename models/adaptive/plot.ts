// The score surface as a picture: one disc per scored pair at (face weight, style weight), coloured
// from dark (low) to bright (high), its score written in it, grey without a usable face, faded below
// the style floor (with a dashed line there), the best pair ringed. Also drawn mid-search (no best yet).
import sharp from 'sharp';
import { toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';
import type { ScoredPair } from './search.ts';

export interface PlotData {
  pairs: readonly ScoredPair[];
  best?: ScoredPair;
  minStyle: number;
}

export const PLOT_WIDTH = 640;
export const PLOT_HEIGHT = 520;
const W = PLOT_WIDTH;
const H = PLOT_HEIGHT;
// Margins leave room for the largest disc (34) and its ring at the edge values.
const M = { left: 90, right: 50, top: 70, bottom: 80 };

/** Dark blue -> teal -> yellow, t in [0, 1]. */
function colour(t: number): string {
  const stops = [[40, 30, 110], [30, 150, 140], [250, 230, 60]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * f));
  return `rgb(${c.join(',')})`;
}

export const span = (v: number[]) => {
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return hi > lo ? { lo, hi } : { lo: lo - 0.5, hi: hi + 0.5 };
};

export function scorePlotSvg(data: PlotData, title = 'identity score'): string {
  const { pairs, best, minStyle } = data;
  const faces = [...new Set(pairs.map((p) => p.face))];
  const styles = [...new Set(pairs.map((p) => p.style))];
  const fx = span(faces.length ? faces : [0]);
  const sy = span(styles.length ? styles : [0]);
  const scores = pairs.flatMap((p) => (p.score === undefined ? [] : [p.score]));
  const sc = span(scores.length ? scores : [0]);
  const x = (v: number) => M.left + ((v - fx.lo) / (fx.hi - fx.lo)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - sy.lo) / (sy.hi - sy.lo)) * (H - M.top - M.bottom);
  // Discs as wide as the densest axis allows (refined pairs sit at half steps, so they may touch).
  const r = Math.max(8, Math.min(34, (W - M.left - M.right) / (2.4 * Math.max(faces.length, styles.length, 2))));
  const heading = best ? `best: face ${best.face}, style ${best.style}, score ${best.score?.toFixed(3)}` : `${pairs.length} pairs so far`;
  const parts: string[] = [
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" font-size="16" text-anchor="middle" font-family="sans-serif">${title} (${heading})</text>`,
    `<line x1="${M.left - r}" y1="${H - M.bottom + r}" x2="${W - M.right + r / 2}" y2="${H - M.bottom + r}" stroke="#444"/>`,
    `<line x1="${M.left - r}" y1="${M.top - r / 2}" x2="${M.left - r}" y2="${H - M.bottom + r}" stroke="#444"/>`,
    `<text x="${W / 2}" y="${H - 12}" font-size="14" text-anchor="middle" font-family="sans-serif">face LoRA weight</text>`,
    `<text x="18" y="${H / 2}" font-size="14" text-anchor="middle" font-family="sans-serif" transform="rotate(-90 18 ${H / 2})">style LoRA weight</text>`,
  ];
  for (const v of faces) {
    parts.push(`<text x="${x(v)}" y="${H - M.bottom + r + 18}" font-size="12" text-anchor="middle" font-family="sans-serif">${v}</text>`);
  }
  for (const v of styles) {
    parts.push(`<text x="${M.left - r - 6}" y="${y(v) + 4}" font-size="12" text-anchor="end" font-family="sans-serif">${v}</text>`);
  }
  if (minStyle > sy.lo && minStyle <= sy.hi) {
    const ly = y(minStyle) + r + 2;
    parts.push(`<line x1="${M.left - r}" y1="${ly}" x2="${W - M.right + r / 2}" y2="${ly}" stroke="#e53935" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - M.right}" y="${ly + 13}" font-size="11" text-anchor="end" font-family="sans-serif" fill="#e53935">style floor ${minStyle}</text>`);
  }
  for (const p of pairs) {
    const t = p.score === undefined ? 0 : (p.score - sc.lo) / (sc.hi - sc.lo);
    const fill = p.score === undefined ? '#ccc' : colour(t);
    const label = p.score === undefined ? 'none' : p.score.toFixed(3);
    const ink = p.score === undefined || t > 0.6 ? '#000' : '#fff';
    const opacity = p.style < minStyle ? 0.35 : 1;
    parts.push(`<g opacity="${opacity}"><circle cx="${x(p.face)}" cy="${y(p.style)}" r="${r}" fill="${fill}"/>`);
    parts.push(`<text x="${x(p.face)}" y="${y(p.style) + 4}" font-size="${Math.max(8, r / 2.6)}" text-anchor="middle" font-family="sans-serif" fill="${ink}">${label}</text></g>`);
  }
  if (best) parts.push(`<circle cx="${x(best.face)}" cy="${y(best.style)}" r="${r + 4}" fill="none" stroke="#e53935" stroke-width="3"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

/** The plot as an RGB image of PLOT_WIDTH x PLOT_HEIGHT. */
export async function scorePlot(data: PlotData, title?: string): Promise<Image> {
  return toImage(sharp(Buffer.from(scorePlotSvg(data, title))).removeAlpha(), 'score-plot.png');
}

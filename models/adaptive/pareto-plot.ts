// Adaptive v2's picture: every candidate at (mean style score, mean identity), grey when it was dropped
// before the last round (fewer seeds), blue when scored on every seed; the Pareto front joined by a line,
// the style floor dashed, the chosen candidate ringed.
import sharp from 'sharp';
import { toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';
import type { Candidate } from './halving.ts';
import { PLOT_HEIGHT as H, PLOT_WIDTH as W, span } from './plot.ts';
import type { WeightPoint } from './v2.ts';

export interface ParetoData {
  candidates: readonly Candidate<WeightPoint>[];
  front: readonly Candidate<WeightPoint>[];
  best?: Candidate<WeightPoint>;
  styleFloor: number;
  seeds: number;
}

const M = { left: 80, right: 40, top: 60, bottom: 70 };
const text = (x: number, y: number, s: string, extra = '', size = 12) =>
  `<text x="${x}" y="${y}" font-size="${size}" font-family="sans-serif" text-anchor="middle"${extra}>${s}</text>`;

export function paretoPlotSvg(d: ParetoData): string {
  const scored = d.candidates.filter((c) => c.identity && c.style);
  const sx = span(scored.map((c) => c.style!.mean).concat(Number.isFinite(d.styleFloor) ? [d.styleFloor] : []));
  const iy = span(scored.length ? scored.map((c) => c.identity!.mean) : [0]);
  const x = (v: number) => M.left + ((v - sx.lo) / (sx.hi - sx.lo)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - iy.lo) / (iy.hi - iy.lo)) * (H - M.top - M.bottom);
  const b = d.best;
  const heading = b
    ? `chosen: face ${b.point.face}, style ${b.point.style}${b.point.IN !== 1 || b.point.MID !== 1 || b.point.OUT !== 1 ? `, IN ${b.point.IN} MID ${b.point.MID} OUT ${b.point.OUT}` : ''}`
    : `${d.candidates.length} candidates so far`;
  const parts = [
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    text(W / 2, 24, `identity vs style over ${d.seeds} seeds (${heading})`, '', 15),
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#444"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#444"/>`,
    text(W / 2, H - 14, 'mean style score (1 = the style LoRA alone)', '', 14),
    text(18, H / 2, 'mean identity', ` transform="rotate(-90 18 ${H / 2})"`, 14),
    text(M.left, H - M.bottom + 18, sx.lo.toFixed(3)), text(W - M.right, H - M.bottom + 18, sx.hi.toFixed(3)),
    text(M.left - 30, H - M.bottom, iy.lo.toFixed(3)), text(M.left - 30, M.top + 4, iy.hi.toFixed(3)),
  ];
  if (d.styleFloor > sx.lo && d.styleFloor <= sx.hi) {
    parts.push(`<line x1="${x(d.styleFloor)}" y1="${M.top}" x2="${x(d.styleFloor)}" y2="${H - M.bottom}" stroke="#e53935" stroke-dasharray="6 4"/>`);
    parts.push(text(x(d.styleFloor), M.top - 6, `style floor ${d.styleFloor}`, ' fill="#e53935"'));
  }
  const front = [...d.front].sort((p, q) => p.style!.mean - q.style!.mean);
  if (front.length > 1) parts.push(`<polyline points="${front.map((c) => `${x(c.style!.mean)},${y(c.identity!.mean)}`).join(' ')}" fill="none" stroke="#1e88e5" stroke-width="2"/>`);
  for (const c of scored) {
    parts.push(`<circle cx="${x(c.style!.mean)}" cy="${y(c.identity!.mean)}" r="6" fill="${c.n === d.seeds ? '#1e88e5' : '#bbb'}"/>`);
  }
  if (b?.identity && b.style) parts.push(`<circle cx="${x(b.style.mean)}" cy="${y(b.identity.mean)}" r="11" fill="none" stroke="#e53935" stroke-width="3"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

/** The plot as an RGB image of PLOT_WIDTH x PLOT_HEIGHT. */
export async function paretoPlot(d: ParetoData): Promise<Image> {
  return toImage(sharp(Buffer.from(paretoPlotSvg(d))).removeAlpha(), 'pareto-plot.png');
}

// The sweep's scores as line plots with error bars: one panel per score, the X values across, one line
// per Y (and Z) value, each point the mean over the cell's seeds with its 95 % interval as a bar.
import sharp from 'sharp';
import { toImage } from '../image-io.ts';
import type { Image } from '../values.ts';
import type { CellSummary } from '../../protocol/index.ts';
import { at, showValue, type AxisValue } from '../../protocol/index.ts';

const W = 640;
const PANEL = 300;
const M = { left: 70, right: 170, top: 40, bottom: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const FONT = 'font-family="sans-serif"';

export function scorePlotSvg(labels: string[], values: AxisValue[][], summaries: CellSummary[], scores: string[]): string {
  const nx = at(values, 0).length;
  const x = (i: number) => M.left + (nx > 1 ? (i / (nx - 1)) * (W - M.left - M.right) : (W - M.left - M.right) / 2);
  const series = new Map<string, [CellSummary, ...CellSummary[]]>();
  for (const s of summaries) {
    const cells = series.get(`${s.at[1]},${s.at[2]}`);
    series.set(`${s.at[1]},${s.at[2]}`, cells ? [...cells, s] : [s]);
  }
  const name = (s: CellSummary) => [1, 2].filter((i) => values[i]).map((i) => `${labels[i]}: ${showValue(at(s.values, i))}`).join(', ') || 'all';
  const parts: string[] = [`<rect width="${W}" height="${PANEL * scores.length}" fill="#fff"/>`];
  for (const [p, score] of scores.entries()) {
    const top = p * PANEL;
    const ms = summaries.flatMap((s) => (s.scores[score] ? [s.scores[score]!] : []));
    const lo = Math.min(...ms.map((m) => m.low));
    const hi = Math.max(...ms.map((m) => m.high));
    const [a, b] = ms.length ? (hi > lo ? [lo, hi] : [lo - 0.5, hi + 0.5]) : [0, 1];
    const y = (v: number) => top + PANEL - M.bottom - ((v - a) / (b - a)) * (PANEL - M.top - M.bottom);
    parts.push(`<text x="${W / 2 - 50}" y="${top + 22}" font-size="15" text-anchor="middle" ${FONT}>${esc(score)} (mean, 95 % interval)</text>`);
    parts.push(`<line x1="${M.left - 10}" y1="${top + PANEL - M.bottom + 10}" x2="${W - M.right + 10}" y2="${top + PANEL - M.bottom + 10}" stroke="#444"/>`);
    parts.push(`<line x1="${M.left - 10}" y1="${top + M.top - 10}" x2="${M.left - 10}" y2="${top + PANEL - M.bottom + 10}" stroke="#444"/>`);
    for (const t of [a, (a + b) / 2, b]) parts.push(`<text x="${M.left - 14}" y="${y(t) + 4}" font-size="11" text-anchor="end" ${FONT}>${t.toFixed(3)}</text>`);
    for (let i = 0; i < nx; i++) parts.push(`<text x="${x(i)}" y="${top + PANEL - M.bottom + 26}" font-size="11" text-anchor="middle" ${FONT}>${esc(showValue(at(at(values, 0), i)).slice(0, 14))}</text>`);
    parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${top + PANEL - 8}" font-size="12" text-anchor="middle" ${FONT}>${esc(at(labels, 0))}</text>`);
    [...series.values()].forEach((cells, k) => {
      const colour = COLOURS[k % COLOURS.length];
      const pts = cells.flatMap((c) => (c.scores[score] ? [{ i: c.at[0], m: c.scores[score]! }] : []));
      if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((q) => `${x(q.i)},${y(q.m.mean)}`).join(' ')}"/>`);
      for (const q of pts) {
        if (q.m.n > 1) {
          parts.push(`<line x1="${x(q.i)}" y1="${y(q.m.low)}" x2="${x(q.i)}" y2="${y(q.m.high)}" stroke="${colour}" stroke-width="1.5"/>`);
          for (const v of [q.m.low, q.m.high]) parts.push(`<line x1="${x(q.i) - 5}" y1="${y(v)}" x2="${x(q.i) + 5}" y2="${y(v)}" stroke="${colour}" stroke-width="1.5"/>`);
        }
        parts.push(`<circle cx="${x(q.i)}" cy="${y(q.m.mean)}" r="4" fill="${colour}"/>`);
      }
      parts.push(`<rect x="${W - M.right + 20}" y="${top + M.top + k * 18 - 9}" width="10" height="10" fill="${colour}"/>`);
      parts.push(`<text x="${W - M.right + 36}" y="${top + M.top + k * 18}" font-size="11" ${FONT}>${esc(name(cells[0]).slice(0, 22))}</text>`);
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${PANEL * scores.length}">${parts.join('')}</svg>`;
}

export async function scorePlot(labels: string[], values: AxisValue[][], summaries: CellSummary[], scores: string[]): Promise<Image> {
  return toImage(sharp(Buffer.from(scorePlotSvg(labels, values, summaries, scores))).removeAlpha(), 'scores.png');
}

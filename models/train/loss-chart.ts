// The training loss as a picture for the node's preview: each step's loss faint, its moving average
// bold, the x axis spanning the whole run so the chart fills in as training goes.
import sharp from 'sharp';
import { toImage } from '../../runtime/image-io.ts';
import type { Image } from '../../runtime/values.ts';

const W = 512;
const H = 320;
const M = { left: 56, right: 16, top: 28, bottom: 36 };

/** Exponential moving average with bias correction (the first values are not pulled towards 0). */
export function smoothed(values: readonly number[], beta = 0.9): number[] {
  let avg = 0;
  return values.map((v, i) => {
    avg = beta * avg + (1 - beta) * v;
    return avg / (1 - beta ** (i + 1));
  });
}

export function lossChartSvg(losses: readonly number[], total: number, firstStep = 1): string {
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi > lo ? hi - lo : 1;
  const x = (i: number) => M.left + ((firstStep - 1 + i) / Math.max(1, total - 1)) * (W - M.left - M.right);
  const y = (v: number) => M.top + (1 - (v - lo) / span) * (H - M.top - M.bottom);
  const line = (vs: readonly number[]) => vs.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const avg = smoothed(losses);
  const text = (tx: number, ty: number, s: string, anchor = 'start') =>
    `<text x="${tx}" y="${ty}" font-size="12" font-family="sans-serif" fill="#333" text-anchor="${anchor}">${s}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<path d="M${M.left},${M.top}V${H - M.bottom}H${W - M.right}" fill="none" stroke="#888"/>`,
    `<polyline points="${line(losses)}" fill="none" stroke="#9fb8e8" stroke-width="1"/>`,
    `<polyline points="${line(avg)}" fill="none" stroke="#1f4fbf" stroke-width="2.5"/>`,
    text(M.left - 6, M.top + 4, hi.toPrecision(3), 'end'),
    text(M.left - 6, H - M.bottom, lo.toPrecision(3), 'end'),
    text(M.left, H - 12, String(firstStep)),
    text(W - M.right, H - 12, String(total), 'end'),
    text(W / 2, H - 12, 'step', 'middle'),
    text(M.left, 18, `loss ${avg.at(-1)!.toPrecision(4)} (moving average), step ${firstStep - 1 + losses.length} of ${total}`),
    '</svg>',
  ].join('');
}

/** The chart as an image; `firstStep` is the step of `losses[0]` (a resumed run starts later). */
export async function lossChart(losses: readonly number[], total: number, firstStep = 1): Promise<Image> {
  return toImage(sharp(Buffer.from(lossChartSvg(losses, total, firstStep))).removeAlpha(), 'loss.png');
}

// The score plot rendered by sharp: its size, the best pair's ring in red where the SVG puts it,
// grey discs for pairs without a face, and a plot drawn mid-search (no best yet).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PLOT_HEIGHT, PLOT_WIDTH, scorePlot, scorePlotSvg } from '../../models/adaptive/plot.ts';
import type { ScoredPair } from '../../models/adaptive/search.ts';

const pairs: ScoredPair[] = [
  { face: 0, style: 0, score: 0.2 }, { face: 1, style: 0, score: 0.9 },
  { face: 0, style: 1, score: undefined }, { face: 1, style: 1, score: 0.5 },
];

describe('scorePlot', () => {
  it('renders an RGB image of the plot size with the best pair ringed in red', async () => {
    const svg = scorePlotSvg({ pairs, best: pairs[3], minStyle: 0.5 });
    const ring = /<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)" fill="none" stroke="#e53935"/.exec(svg);
    expect(ring).not.toBeNull();
    const [cx, cy, r] = ring!.slice(1).map(Number);
    const plot = await scorePlot({ pairs, best: pairs[3], minStyle: 0.5 });
    expect([plot.width, plot.height, plot.channels]).toEqual([PLOT_WIDTH, PLOT_HEIGHT, 3]);
    const at = (x: number, y: number) => Array.from(plot.data.subarray((Math.round(y) * plot.width + Math.round(x)) * 3, (Math.round(y) * plot.width + Math.round(x)) * 3 + 3));
    const [red, green, blue] = at(cx! - r!, cy!);
    expect(red).toBeGreaterThan(180);
    expect(green! + blue!).toBeLessThan(200);
    // The pair without a face is a grey disc; the floor is drawn and the heading names the best.
    expect(svg).toContain('fill="#ccc"');
    expect(svg).toContain('style floor 0.5');
    expect(svg).toContain('best: face 1, style 1, score 0.500');
  });

  it('draws a partial search without a best', async () => {
    const svg = scorePlotSvg({ pairs: pairs.slice(0, 1), minStyle: 0 });
    expect(svg).not.toContain('stroke="#e53935" stroke-width="3"');
    expect(svg).toContain('1 pairs so far');
    const meta = await sharp(Buffer.from(svg)).metadata();
    expect([meta.width, meta.height]).toEqual([PLOT_WIDTH, PLOT_HEIGHT]);
  });
});

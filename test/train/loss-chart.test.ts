import { describe, expect, it } from 'vitest';
import { lossChart, lossChartSvg, smoothed } from '../../models/train/loss-chart.ts';

describe('loss chart', () => {
  it('smooths with a bias-corrected moving average', () => {
    expect(smoothed([2, 2, 2])).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)));
    const s = smoothed([1, 0], 0.5);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo((0.5 * 0.5 * 1 + 0.5 * 0) / (1 - 0.25), 12);
  });

  it('draws the steps so far across the whole run, labelled with the range and the latest average', async () => {
    const svg = lossChartSvg([1, 0.8, 0.5], 10, 4);
    expect(svg).toContain('step 6 of 10');
    expect(svg).toContain('>1.00<');
    expect(svg).toContain('>0.500<');
    // The first point sits at step 4 of 10: a third of the way across the plot (56 + 3/9 of 440 px).
    expect(svg).toMatch(/<polyline points="202\.7,/);
    const img = await lossChart([1, 0.8, 0.5], 10, 4);
    expect([img.width, img.height, img.channels]).toEqual([512, 320, 3]);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emptyGraph } from '../../editor/src/core/editor-store.ts';
import { graphFromText } from '../../editor/src/core/graph-io.ts';
import { NODE_WIDTH, estimateNodeHeight, fitViewport, formHeight, nearView } from '../../editor/src/core/node-size.ts';
import { catalogIndex } from './helpers.ts';

const basics = graphFromText(readFileSync(new URL('../../graphs/image-basics.json', import.meta.url), 'utf8'));
const index = catalogIndex();

describe('node sizes before measuring', () => {
  it('grows with ports and fields', () => {
    expect(formHeight([])).toBe(12);
    const preview = estimateNodeHeight(index, 'image/preview');
    const resize = estimateNodeHeight(index, 'image/resize');
    expect(resize).toBeGreaterThan(preview);
    expect(estimateNodeHeight(index, 'nope/missing')).toBe(160);
  });

  it('fits a graph into the canvas like fitView, within the zoom limits', () => {
    const size = { width: 1200, height: 800 };
    const v = fitViewport(basics, index, size);
    // Every node box lands inside the canvas.
    for (const n of basics.nodes) {
      const left = n.position!.x * v.zoom + v.x;
      const right = (n.position!.x + NODE_WIDTH) * v.zoom + v.x;
      const top = n.position!.y * v.zoom + v.y;
      const bottom = (n.position!.y + estimateNodeHeight(index, n.type)) * v.zoom + v.y;
      expect(left).toBeGreaterThanOrEqual(0);
      expect(right).toBeLessThanOrEqual(size.width);
      expect(top).toBeGreaterThanOrEqual(0);
      expect(bottom).toBeLessThanOrEqual(size.height);
    }
    const far = { ...basics, nodes: basics.nodes.map((n, i) => ({ ...n, position: { x: i * 50_000, y: 0 } })) };
    expect(fitViewport(far, index, size).zoom).toBe(0.05);
    expect(fitViewport(emptyGraph(), index, size)).toEqual({ x: 0, y: 0, zoom: 1 });
  });
});

describe('nodes near the view', () => {
  const screen = { width: 1000, height: 800 };
  const box = { x: 0, y: 0, width: 280, height: 200 };

  it('counts a node on screen or within half a screen of it', () => {
    expect(nearView(box, { x: 0, y: 0, zoom: 1 }, screen)).toBe(true);
    // Left of the screen by less than half its width, then by more.
    expect(nearView(box, { x: -700, y: 0, zoom: 1 }, screen)).toBe(true);
    expect(nearView(box, { x: -800, y: 0, zoom: 1 }, screen)).toBe(false);
    // Below: the top must start within half a screen height.
    expect(nearView(box, { x: 0, y: 1199, zoom: 1 }, screen)).toBe(true);
    expect(nearView(box, { x: 0, y: 1200, zoom: 1 }, screen)).toBe(false);
  });

  it('scales the box with the zoom', () => {
    const far = { ...box, x: 1900 };
    expect(nearView(far, { x: 0, y: 0, zoom: 1 }, screen)).toBe(false);
    expect(nearView(far, { x: 0, y: 0, zoom: 0.5 }, screen)).toBe(true);
    expect(nearView(far, { x: 0, y: 0, zoom: 1 }, screen, 1)).toBe(true);
  });
});

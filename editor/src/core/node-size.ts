import type { Graph } from '../../../protocol/index.ts';
import type { CatalogIndex } from './catalog-index.ts';
import { catalogType } from './component-catalog.ts';
import type { Field } from './form-model.ts';

/**
 * Node sizes before the browser has measured them (numbers follow styles.css): the zoomed-out
 * placeholder uses them, and opening a graph picks its first viewport from them so a big graph is
 * never rendered in full detail at a zoom where it would be drawn tiny.
 */
export const NODE_WIDTH = 280;
const HEADER = 31;
const PORT_ROW = 22;
const PORTS_PAD = 7;
const FORM_PAD = 12;
const FIELD_GAP = 5;
const ROW: Record<Field['kind'], number> = {
  number: 26,
  seed: 26,
  select: 24,
  checkbox: 20,
  text: 42,
  colour: 24,
  'input-path': 50,
  model: 24,
  'number-list': 42,
  json: 78,
};

export function formHeight(fields: readonly Field[]): number {
  return FORM_PAD + fields.reduce((sum, f) => sum + FIELD_GAP + ROW[f.kind] + (f.kind === 'number' && f.slider ? 9 : 0) + (f.kind === 'text' && f.multiline ? 36 : 0), 0);
}

export function estimateNodeHeight(catalog: CatalogIndex, type: string): number {
  const def = catalog.node(type);
  if (!def) return 160;
  const rows = Math.max(def.inputs.length, def.outputs.length);
  return HEADER + (rows ? PORTS_PAD + rows * PORT_ROW : 0) + formHeight(catalog.fields(type));
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/** The viewport that shows the whole graph in a `width` x `height` canvas (like React Flow's fitView). */
export function fitViewport(
  graph: Graph,
  catalog: CatalogIndex,
  size: { width: number; height: number },
  options = { padding: 0.12, minZoom: 0.05, maxZoom: 1.1 },
): Viewport {
  if (!graph.nodes.length || !size.width || !size.height) return { x: 0, y: 0, zoom: 1 };
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const n of graph.nodes) {
    const p = n.position ?? { x: 0, y: 0 };
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x + NODE_WIDTH);
    maxY = Math.max(maxY, p.y + estimateNodeHeight(catalog, catalogType(n)));
  }
  const w = maxX - minX;
  const h = maxY - minY;
  const zoom = Math.min(options.maxZoom, Math.max(options.minZoom, Math.min(size.width / (w * (1 + 2 * options.padding)), size.height / (h * (1 + 2 * options.padding)))));
  return { x: size.width / 2 - (minX + w / 2) * zoom, y: size.height / 2 - (minY + h / 2) * zoom, zoom };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Whether a box (flow coordinates) is on a `screen`-sized canvas under viewport `v`, or within `margin`
 * screens of it on any side (so a short pan does not uncover what is not drawn yet).
 */
export function nearView(box: Box, v: Viewport, screen: { width: number; height: number }, margin = 0.5): boolean {
  const left = box.x * v.zoom + v.x;
  const top = box.y * v.zoom + v.y;
  const mx = screen.width * margin;
  const my = screen.height * margin;
  return left + box.width * v.zoom > -mx && left < screen.width + mx && top + box.height * v.zoom > -my && top < screen.height + my;
}

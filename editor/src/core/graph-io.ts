import { z } from 'zod';
import { COMPONENT_TYPE, GraphFormatError, GraphSchema, migrate, type Graph, GRAPH_PNG_KEYWORD, inRawKeyOrder, readPngText } from '../../../protocol/index.ts';
import type { CatalogIndex } from './catalog-index.ts';

/**
 * Graph files in and out: JSON text, PNGs the save node wrote, and what the editor adds on open
 * (positions for hand-written graphs, warnings about node types this server lacks).
 */
export class GraphOpenError extends Error {
  override name = 'GraphOpenError';
}

/** Migrates and checks a parsed document; every failure says what is wrong with the file. */
export function readGraph(doc: unknown): Graph {
  let migrated: Record<string, unknown>;
  try {
    migrated = migrate(doc);
  } catch (e) {
    if (e instanceof GraphFormatError) throw new GraphOpenError(e.message);
    throw e;
  }
  const parsed = GraphSchema.safeParse(migrated);
  if (!parsed.success) throw new GraphOpenError(`The graph file is damaged:\n${z.prettifyError(parsed.error)}`);
  return inRawKeyOrder(migrated, parsed.data);
}

export function graphFromText(text: string): Graph {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new GraphOpenError(`Not a JSON file: ${(e as Error).message}`);
  }
  return readGraph(doc);
}

const EmbeddedSchema = z.object({ graph: z.unknown(), node: z.string().optional(), runId: z.string().optional() });
export type Embedded = { graph: Graph; node?: string; runId?: string };

/** The graph a save node embedded in a PNG, with the node that wrote it and the run. */
export function graphFromPng(png: Uint8Array): Embedded {
  let text: string | undefined;
  try {
    text = readPngText(png)[GRAPH_PNG_KEYWORD];
  } catch (e) {
    throw new GraphOpenError(`Cannot read the PNG: ${(e as Error).message}`);
  }
  if (text === undefined) throw new GraphOpenError('This PNG carries no graph (only images saved by FaceChain Studio do)');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new GraphOpenError('The graph inside this PNG is damaged (not JSON)');
  }
  const embedded = EmbeddedSchema.safeParse(doc);
  // Older writers could embed the bare graph.
  if (!embedded.success || embedded.data.graph === undefined) return { graph: readGraph(doc) };
  return { ...embedded.data, graph: readGraph(embedded.data.graph) };
}

const PNG_SIGNATURE = [137, 80, 78, 71];

export function isPngBytes(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Whether a PNG carries a graph (a dropped PNG without one is an input image, not a graph). */
export function carriesGraph(png: Uint8Array): boolean {
  try {
    return GRAPH_PNG_KEYWORD in readPngText(png);
  } catch {
    return false;
  }
}

/** A dropped or picked file: PNG by its signature, anything else read as JSON text. */
export function graphFromFile(bytes: Uint8Array): Embedded {
  if (isPngBytes(bytes)) return graphFromPng(bytes);
  return { graph: graphFromText(new TextDecoder().decode(bytes)) };
}

/** The JSON a user downloads or saves: stable key order from the document itself, two-space indent. */
export function graphToText(graph: Graph): string {
  return `${JSON.stringify(graph, null, 2)}\n`;
}

/** File name for a download: the graph name in plain characters. */
export function graphFileName(graph: Graph): string {
  const stem = graph.name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'graph';
  return `${stem}.json`;
}

/** Node types the catalog does not know: the nodes still open (in red) so nothing is lost on save. */
export function unknownTypes(graph: Graph, catalog: CatalogIndex): string[] {
  const nodes = [graph, ...Object.values(graph.components ?? {})].flatMap((level) => level.nodes);
  return [...new Set(nodes.filter((n) => n.type !== COMPONENT_TYPE && !catalog.node(n.type)).map((n) => n.type))];
}

const COLUMN = 320;
const ROW = 260;

/**
 * Positions for nodes that have none (hand-written graphs): columns by longest path from a source, rows
 * in document order. Nodes with positions keep them.
 */
export function layoutMissing(graph: Graph): Graph {
  if (graph.nodes.every((n) => n.position)) return graph;
  const depth = new Map(graph.nodes.map((n) => [n.id, 0]));
  // Longest-path layering; bounded passes so a cycle in a broken file cannot hang the editor.
  for (let pass = 0; pass < graph.nodes.length; pass++) {
    let changed = false;
    for (const e of graph.edges) {
      const d = (depth.get(e.from.node) ?? 0) + 1;
      if (depth.has(e.to.node) && d > depth.get(e.to.node)!) {
        depth.set(e.to.node, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  const placed = graph.nodes.filter((n) => n.position);
  const offsetY = placed.length ? Math.max(...placed.map((n) => n.position!.y)) + ROW : 0;
  return {
    ...graph,
    nodes: graph.nodes.map((n) => {
      if (n.position) return n;
      const col = depth.get(n.id) ?? 0;
      const row = rows.get(col) ?? 0;
      rows.set(col, row + 1);
      return { ...n, position: { x: col * COLUMN, y: offsetY + row * ROW } };
    }),
  };
}

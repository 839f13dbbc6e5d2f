import { z } from 'zod';

/** The graph document people share. This schema is the source of truth (graphs/schema.json is generated). */
export const GRAPH_FORMAT = 'facechain-graph';
export const GRAPH_VERSION = 1;

const Id = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits, _ . : - only');

export const NodeInstanceSchema = z
  .object({
    id: Id.describe('Unique node id within the graph'),
    type: z.string().min(1).max(200).describe('Node type from the catalog, e.g. image/resize'),
    params: z.record(z.string(), z.unknown()).default({}).describe('Parameter values; omitted ones take defaults'),
    position: z.object({ x: z.number(), y: z.number() }).strict().optional(),
    title: z.string().max(200).optional(),
  })
  .strict();

export const PortRefSchema = z.object({ node: Id, port: z.string().min(1).max(100) }).strict();

export const EdgeSchema = z.object({ from: PortRefSchema, to: PortRefSchema }).strict();

export const GraphSchema = z
  .object({
    format: z.literal(GRAPH_FORMAT),
    version: z.literal(GRAPH_VERSION),
    name: z.string().max(200).default('untitled'),
    nodes: z.array(NodeInstanceSchema).max(10_000),
    edges: z.array(EdgeSchema).max(50_000).default([]),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .describe('FaceChain Studio graph');

export type Graph = z.infer<typeof GraphSchema>;
export type GraphInput = z.input<typeof GraphSchema>;
export type NodeInstance = z.infer<typeof NodeInstanceSchema>;
export type Edge = z.infer<typeof EdgeSchema>;

export class GraphFormatError extends Error {
  override name = 'GraphFormatError';
}

/** Step k upgrades a document of version k to k + 1. Add version 2 here without breaking shared files. */
export type Migrations = Record<number, (doc: Record<string, unknown>) => Record<string, unknown>>;
const MIGRATIONS: Migrations = {};

/**
 * Brings any readable document to the current version. Unknown formats and versions newer than this
 * build get a clear error instead of a half-loaded graph. `migrations` and `latest` are this build's; tests
 * pass their own to check the chain.
 */
export function migrate(doc: unknown, migrations: Migrations = MIGRATIONS, latest = GRAPH_VERSION): Record<string, unknown> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new GraphFormatError('A graph must be a JSON object');
  }
  let current = doc as Record<string, unknown>;
  if (current.format !== GRAPH_FORMAT) {
    throw new GraphFormatError(`Not a FaceChain Studio graph: "format" must be "${GRAPH_FORMAT}"`);
  }
  const version = current.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new GraphFormatError('"version" must be a positive integer');
  }
  if (version > latest) {
    throw new GraphFormatError(
      `This graph was made by a newer FaceChain Studio (graph version ${version}); this build reads up to version ${latest}. Please update.`,
    );
  }
  for (let v = version; v < latest; v++) {
    const step = migrations[v];
    if (!step) throw new GraphFormatError(`No migration from graph version ${v}`);
    current = { ...step(current), version: v + 1 };
  }
  return current;
}

/** JSON Schema of the graph document, from the zod schema. */
export function graphJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(GraphSchema, { io: 'input' }) as Record<string, unknown>;
}

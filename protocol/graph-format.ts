import { z } from 'zod';

/** The graph document people share. This schema is the source of truth (graphs/schema.json is generated). */
export const GRAPH_FORMAT = 'facechain-graph';
export const GRAPH_VERSION = 2;

/** The `type` of a node that is an instance of one of the document's components. */
export const COMPONENT_TYPE = 'component';

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
    version: z.number().int().min(1).optional().describe('Version of the node type the params were written for; older ones are upgraded on load'),
    component: Id.optional().describe('With type "component": the id of the definition in "components" this node is an instance of'),
  })
  .strict();

export const PortRefSchema = z.object({ node: Id, port: z.string().min(1).max(100) }).strict();

export const EdgeSchema = z.object({ from: PortRefSchema, to: PortRefSchema }).strict();

const PortName = z.string().min(1).max(100);

/**
 * A reusable subgraph, defined once in the document and placed by instances (nodes of type
 * "component"). Its ports and params map onto inner nodes; its nodes may be instances of other
 * components (nesting).
 */
export const ComponentSchema = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    /** Where it came from in the library and which version this copy is; a graph keeps its copy until updated. */
    library: z.object({ id: Id, version: z.number().int().min(1) }).strict().optional(),
    nodes: z.array(NodeInstanceSchema).max(10_000),
    edges: z.array(EdgeSchema).max(50_000).default([]),
    inputs: z
      .record(PortName, z.object({ targets: z.array(PortRefSchema).min(1).max(100), description: z.string().max(500).optional() }).strict())
      .default({})
      .describe('Input port -> the inner inputs it feeds'),
    outputs: z
      .record(PortName, z.object({ from: PortRefSchema, description: z.string().max(500).optional() }).strict())
      .default({})
      .describe('Output port -> the inner output it passes on'),
    params: z
      .record(PortName, z.object({ node: Id, param: PortName }).strict())
      .default({})
      .describe("Param -> the inner node's param it sets; its default, range and description are the inner param's"),
  })
  .strict();

export const GraphSchema = z
  .object({
    format: z.literal(GRAPH_FORMAT),
    version: z.literal(GRAPH_VERSION),
    name: z.string().max(200).default('untitled'),
    nodes: z.array(NodeInstanceSchema).max(10_000),
    edges: z.array(EdgeSchema).max(50_000).default([]),
    components: z.record(Id, ComponentSchema).optional().describe('Component definitions, by id, used by nodes of type "component"'),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .describe('FaceChain Studio graph');

export type Graph = z.infer<typeof GraphSchema>;
export type GraphInput = z.input<typeof GraphSchema>;
export type NodeInstance = z.infer<typeof NodeInstanceSchema>;
export type Edge = z.infer<typeof EdgeSchema>;
export type Component = z.infer<typeof ComponentSchema>;
export type PortRef = z.infer<typeof PortRefSchema>;

export class GraphFormatError extends Error {
  override name = 'GraphFormatError';
}

/** Step k upgrades a document of version k to k + 1. */
export type Migrations = Record<number, (doc: Record<string, unknown>) => Record<string, unknown>>;
const MIGRATIONS: Migrations = {
  // Version 2 added components and node versions, both optional: a version 1 document reads unchanged.
  1: (doc) => doc,
};

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

import { z } from 'zod';
import { PortTypeSchema } from './ports.ts';

/** Shape of the node catalog served to the editor (GET /api/nodes) and printed by `facechain nodes --json`. */
export const CatalogPortSchema = z.object({
  name: z.string(),
  type: PortTypeSchema,
  description: z.string().optional(),
  optional: z.boolean(),
});

export const CatalogNodeSchema = z.object({
  type: z.string(),
  version: z.number(),
  category: z.string(),
  title: z.string(),
  description: z.string(),
  inputs: z.array(CatalogPortSchema),
  outputs: z.array(CatalogPortSchema),
  /** JSON Schema (draft 2020-12) of the params object; extra keywords `ui`, `step` come from zod `.meta()`. */
  params: z.record(z.string(), z.unknown()),
});

export const CatalogSchema = z.object({
  portTypes: z.record(
    PortTypeSchema,
    z.object({ colour: z.string(), description: z.string(), feeds: z.array(PortTypeSchema) }),
  ),
  nodes: z.array(CatalogNodeSchema),
});

export type Catalog = z.infer<typeof CatalogSchema>;
export type CatalogNode = z.infer<typeof CatalogNodeSchema>;
export type CatalogPort = z.infer<typeof CatalogPortSchema>;

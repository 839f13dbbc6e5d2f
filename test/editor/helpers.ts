import { z } from 'zod';
import { CatalogIndex } from '../../editor/src/core/catalog-index.ts';
import { createRegistry } from '../../nodes/index.ts';
import type { Catalog, CatalogNode } from '../../protocol/index.ts';
import { colourParam, inputPathParam, modelParam, numberListParam, promptParam, seedParam } from '../../runtime/params.ts';

/** The catalog the server serves, from the real registry. */
export function realCatalog(): Catalog {
  return createRegistry().catalog();
}

/** A node type exercising every widget hint, its params schema made the way the registry makes it. */
export const sampleParams = z.object({
  prompt: promptParam('a portrait', 'What to draw'),
  seed: seedParam(),
  steps: z.number().int().min(1).max(150).default(30),
  strength: z.number().min(0).max(1).default(0.75).meta({ step: 0.05 }),
  scale: z.number().positive().default(7.5),
  sampler: z.enum(['euler', 'ddim']).default('euler'),
  tiled: z.boolean().default(false),
  tint: colourParam('#ff8800', 'Tint'),
  photo: inputPathParam('samples', 'Photo'),
  lora: modelParam('loras', '', 'LoRA file', { builtin: ['none-needed'] }),
  blocks: numberListParam([1, 1, 0.5], 'Block weights'),
  note: z.string().optional(),
  clipSkip: z.union([z.literal(1), z.literal(2)]).default(1),
  size: z.number().int().min(64).max(2048).multipleOf(8).default(512).meta({ step: 64 }),
});

export function sampleNode(): CatalogNode {
  return {
    type: 'test/sample',
    version: 1,
    category: 'test',
    title: 'Sample',
    description: 'Every widget',
    inputs: [{ name: 'image', type: 'IMAGE', optional: false }],
    outputs: [{ name: 'faces', type: 'FACES', optional: false }],
    params: z.toJSONSchema(sampleParams, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
  };
}

export function catalogIndex(extra: CatalogNode[] = []): CatalogIndex {
  const c = realCatalog();
  return new CatalogIndex({ ...c, nodes: [...c.nodes, ...extra] });
}

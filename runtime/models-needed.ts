import { readdirSync } from 'node:fs';
import type { ZodType } from 'zod';
import { FileParamMetaSchema } from './params.ts';
import type { CheckedGraph } from './validate.ts';

/**
 * The model-store files a checked graph names (`kind/file`, sorted): what a machine must have to run it.
 * Built-in names (the tiny checkpoint) and empty optional ones need no file.
 */
export function modelsNeeded(checked: CheckedGraph): string[] {
  const found = new Set<string>();
  for (const [nodeId, def] of checked.defs) {
    const params = checked.params.get(nodeId) ?? {};
    for (const [name, schema] of Object.entries(def.params.shape as Record<string, ZodType>)) {
      const meta = FileParamMetaSchema.safeParse(schema.meta());
      const value = params[name];
      if (!meta.success || meta.data.ui !== 'model' || typeof value !== 'string' || value === '' || meta.data.builtin?.includes(value)) continue;
      found.add(`${meta.data.kind}/${value}`);
    }
  }
  return [...found].sort();
}

/** The files of a model store (data/models), as `kind/file` names. */
export function modelsPresent(modelsDir: string): string[] {
  try {
    return readdirSync(modelsDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.parentPath !== modelsDir)
      .map((e) => `${e.parentPath.slice(modelsDir.length + 1)}/${e.name}`.replaceAll('\\', '/'))
      .sort();
  } catch {
    return [];
  }
}

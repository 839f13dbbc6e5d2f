import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ZodType } from 'zod';
import { PathEscapeError, safeJoin, type DataFolders } from './data-folder.ts';
import type { Problem } from '../protocol/index.ts';
import { resolveUploadId } from './input-path.ts';
import { FileParamMetaSchema, type FileParamMeta } from './params.ts';
import type { NodeCheck } from './validate.ts';

/**
 * The validation step that needs this machine: every param that names a file of the data folder (declared
 * in its schema's meta, runtime/params.ts) must stay inside its folder and be there. A missing file is a
 * problem of the graph on this machine, so the message says where it was looked for and how to set it.
 * Paths in messages are relative to the data folder: answers never show where that folder is.
 */
export function fileChecks(data: DataFolders): NodeCheck {
  return (nodeId, def, params) => {
    const problems: Problem[] = [];
    for (const [name, schema] of Object.entries(def.params.shape as Record<string, ZodType>)) {
      const meta = FileParamMetaSchema.safeParse(schema.meta());
      const value = params[name];
      if (!meta.success || typeof value !== 'string') continue;
      const message = checkFile(data, meta.data, value, name);
      if (message) problems.push({ node: nodeId, field: `params.${name}`, message });
    }
    return problems;
  };
}

function checkFile(data: DataFolders, meta: FileParamMeta, value: string, param: string): string | undefined {
  if (meta.ui === 'model' && meta.builtin?.includes(value)) return undefined;
  const folder = meta.ui === 'model' ? `models/${meta.kind}` : 'input';
  if (value === '') {
    return meta.ui === 'model' && meta.optional ? undefined : `No file chosen: pick one from ${folder}/ of the data folder in the node's "${param}" field`;
  }
  const base = path.join(data.root, folder);
  let file: string;
  try {
    file = safeJoin(base, meta.ui === 'input-path' ? resolveUploadId(data, value) : value);
  } catch (e) {
    if (e instanceof PathEscapeError) return e.message;
    file = ''; // The folder itself is missing: so is the file.
  }
  if (file && existsSync(file)) return undefined;
  const what = meta.ui === 'input-path' ? 'put the photos there (or upload them)' : 'put the file there';
  return `"${value}" does not exist on this machine: looked for ${folder}/${value} in the data folder; ${what}, or pick another in the node's "${param}" field`;
}

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegistry } from '../nodes/index.ts';
import { graphJsonSchema } from '../protocol/index.ts';
import { openDataFolders } from '../runtime/data-folder.ts';
import { fileChecks } from '../runtime/file-checks.ts';
import { checkGraph, formatProblem } from '../runtime/validate.ts';
import { readGraphFile } from './graph-file.ts';

export const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'graphs', 'schema.json');

/** Checks the graph, and that the files it names are in the data folder (`--data`, as `run` reads them). */
export function validateCommand(file: string | undefined, flags: { data?: string } = {}): number {
  const result = checkGraph(readGraphFile(file), createRegistry(), { checkNode: fileChecks(openDataFolders(flags.data)) });
  if (result.ok) {
    process.stdout.write(`${file}: valid (${result.checked.order.length} nodes)\n`);
    return 0;
  }
  process.stdout.write(`${file}: ${result.problems.length} problem(s)\n${result.problems.map(formatProblem).join('\n')}\n`);
  return 1;
}

export function nodesCommand(json: boolean): number {
  const catalog = createRegistry().catalog();
  if (json) {
    process.stdout.write(`${JSON.stringify(catalog, null, 2)}\n`);
    return 0;
  }
  for (const n of catalog.nodes) {
    const ports = (list: { name: string; type: string }[]) => list.map((p) => `${p.name}:${p.type}`).join(', ') || '-';
    process.stdout.write(`${n.type.padEnd(28)} ${n.title}\n${' '.repeat(29)}in ${ports(n.inputs)}  out ${ports(n.outputs)}\n`);
  }
  return 0;
}

export function schemaCommand(write: boolean): number {
  const text = `${JSON.stringify(graphJsonSchema(), null, 2)}\n`;
  if (write) writeFileSync(SCHEMA_FILE, text);
  else process.stdout.write(text);
  return 0;
}

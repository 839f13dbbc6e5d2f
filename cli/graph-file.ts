import { readFileSync } from 'node:fs';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../runtime/json-depth.ts';

/** Reads a graph JSON file, with errors that name the file. */
export function readGraphFile(file: string | undefined): unknown {
  if (!file) throw new Error('name a graph JSON file');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (nestsDeeperThan(doc)) throw new Error(`${file} nests deeper than ${MAX_JSON_DEPTH} levels: no graph does`);
  return doc;
}

/**
 * Applies `--set node.param=value` overrides. The value is parsed as JSON when it can be (numbers,
 * booleans, lists), else taken as a string. Validation afterwards checks node and param names.
 */
export function applyOverrides(graph: unknown, sets: string[]): unknown {
  const doc = structuredClone(graph) as { nodes?: { id: string; params?: Record<string, unknown> }[] };
  for (const set of sets) {
    const m = /^([^=]+)\.([^.=]+)=(.*)$/s.exec(set); // node ids may hold dots, param names do not
    if (!m) throw new Error(`--set ${set}: use node.param=value`);
    const [, nodeId = '', param = '', raw = ''] = m;
    const node = doc.nodes?.find((n) => n.id === nodeId);
    if (!node) throw new Error(`--set ${set}: the graph has no node "${nodeId}"`);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Plain text.
    }
    node.params = { ...node.params, [param]: value };
  }
  return doc;
}

import { writeFileSync } from 'node:fs';
import { createRegistry } from '../nodes/index.ts';
import { applyGrouping, GraphSchema, GroupingSchema, migrate } from '../protocol/index.ts';
import { registryPorts } from '../runtime/registry.ts';
import { assertGraph } from '../runtime/validate.ts';
import { readGraphFile } from './graph-file.ts';

/**
 * `facechain group <graph> <grouping>`: the graph with nodes moved into components as the grouping file
 * says (graphs/groupings/ has the portrait graph's). The result is validated before it is written.
 */
export function groupCommand(graphFile: string | undefined, groupingFile: string | undefined, flags: { out?: string } = {}): number {
  const registry = createRegistry();
  const graph = GraphSchema.parse(migrate(readGraphFile(graphFile)));
  const grouping = GroupingSchema.parse(readGraphFile(groupingFile));
  const grouped = applyGrouping(graph, grouping, registryPorts(registry));
  assertGraph(grouped, registry);
  const text = `${JSON.stringify(grouped, null, 2)}\n`;
  if (flags.out) writeFileSync(flags.out, text);
  else process.stdout.write(text);
  return 0;
}

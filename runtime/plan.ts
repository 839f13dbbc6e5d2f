import type { CheckedGraph } from './validate.ts';

/** The nodes needed for the targets (default: all sinks), in dependency order. */
export function planNodes(checked: CheckedGraph, targets?: string[]): string[] {
  const wanted = targets?.length ? targets : checked.order.filter((id) => !checked.outgoing.get(id)?.length);
  const needed = new Set<string>();
  const stack = [...wanted];
  while (stack.length) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    for (const c of checked.incoming.get(id)?.values() ?? []) stack.push(c.from.node);
  }
  return checked.order.filter((id) => needed.has(id));
}

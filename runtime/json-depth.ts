/**
 * How deep untrusted JSON may nest. A graph nests about six levels; far deeper values (100k nested
 * arrays) would overflow the stack of every recursive step after parsing (clone, zod, stringify).
 */
export const MAX_JSON_DEPTH = 100;

/** Whether a parsed JSON value nests deeper than `max` (counted without recursion). */
export function nestsDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Text parsed as JSON, or undefined when it is not JSON (for input checked by a schema next). */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

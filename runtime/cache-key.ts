import { createHash } from 'node:crypto';
import type { AnyNodeDefinition } from './node.ts';

/**
 * Identity of a node's result: its type and version, params, what feeds each input (`[port, upstream
 * key, upstream port]`, sorted) and the node's own fingerprint (e.g. the files it reads).
 */
export function cacheKey(def: AnyNodeDefinition, params: Record<string, unknown>, inputs: [string, string, string][], fingerprint?: string): string {
  return createHash('sha256')
    .update(stableJson([def.type, def.version, params, inputs, fingerprint ?? null]))
    .digest('hex');
}

/** JSON with object keys sorted, so equal params give equal keys. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

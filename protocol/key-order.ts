/**
 * `parsed` with the object keys in the order `raw` had them (parsed-only keys, such as defaults, after):
 * zod writes keys in its schema's order, and a graph that is opened and saved must keep what it does
 * not change byte for byte, nodes of types this build lacks above all.
 */
export function inRawKeyOrder<T>(raw: unknown, parsed: T): T {
  if (Array.isArray(parsed)) {
    return (Array.isArray(raw) ? parsed.map((item, i) => inRawKeyOrder(raw[i], item)) : parsed) as T;
  }
  if (!isObject(parsed) || !isObject(raw)) return parsed;
  const out: Record<string, unknown> = {};
  const keys = [...Object.keys(raw).filter((k) => Object.hasOwn(parsed, k)), ...Object.keys(parsed).filter((k) => !Object.hasOwn(raw, k))];
  // Defined, not assigned: a "__proto__" key stays a key.
  for (const k of keys) Object.defineProperty(out, k, { value: inRawKeyOrder(raw[k], parsed[k]), enumerable: true, writable: true, configurable: true });
  return out as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

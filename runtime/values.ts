/** In-memory values that flow along edges. Pixels stay raw (sharp's raw layout: row-major, interleaved). */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
  /** Where the image came from (file name), kept for datasets and output names. */
  name?: string;
}

export type Mask = Image & { channels: 1 };

/**
 * TypeScript type of the value carried by each port type. The runtime knows the plain ones; the layers
 * above add theirs by declaration merging (nodes/port-values.ts), and `NodeDefinition` fails to compile
 * while a port type of protocol/ports.ts has none.
 */
export interface PortValues {
  IMAGE: Image;
  IMAGES: Image[];
  MASK: Mask;
  SCORES: number[];
  NUMBER: number;
  STRING: string;
}

export function isImage(v: unknown): v is Image {
  if (typeof v !== 'object' || v === null) return false;
  const i = v as Image;
  return (
    Number.isInteger(i.width) && Number.isInteger(i.height) && [1, 3, 4].includes(i.channels) &&
    i.data instanceof Uint8Array && i.data.length === i.width * i.height * i.channels
  );
}

/** The images a port's value holds: one, a list of them, or none (a value of another type). */
export function imagesIn(value: unknown): Image[] {
  return isImage(value) ? [value] : Array.isArray(value) && value.length && value.every(isImage) ? value : [];
}

/** How many images each port of a node's outputs holds (ports holding none left out). */
export function imageCounts(ports: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(ports).flatMap(([port, v]) => {
    const count = imagesIn(v).length;
    return count ? [[port, count]] : [];
  }));
}

/** Rough byte size of a value, for the memory-bounded output cache. */
export function approximateBytes(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || value === undefined) return 8;
  if (typeof value === 'string') return 2 * value.length;
  if (typeof value !== 'object') return 8;
  if (seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  let total = 16;
  if (value instanceof Map) {
    for (const [k, v] of value) total += approximateBytes(k, seen) + approximateBytes(v, seen);
    return total;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) total += approximateBytes(v, seen);
  return total;
}

import { approximateBytes } from './values.ts';

interface Entry {
  outputs: Record<string, unknown>;
  bytes: number;
}

export const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;

/** Node outputs by cache key, least recently used dropped first once over the byte budget. */
export class OutputCache {
  private entries = new Map<string, Entry>();
  private total = 0;

  constructor(readonly maxBytes = DEFAULT_CACHE_BYTES) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new Error(`Output cache budget must be a byte count of 0 or more (got ${maxBytes})`);
  }

  get(key: string): Record<string, unknown> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.outputs;
  }

  set(key: string, outputs: Record<string, unknown>): void {
    this.delete(key);
    const bytes = approximateBytes(outputs);
    // Keeping it would evict everything else and still be over budget.
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { outputs, bytes });
    this.total += bytes;
    for (const [k, e] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(k);
      this.total -= e.bytes;
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.total -= e.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }
}

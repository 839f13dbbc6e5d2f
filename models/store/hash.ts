// sha256 of model files, streamed (checkpoints are gigabytes), remembered in <models>/.sha256.json by
// path, size and mtime so a file is hashed again only when it changes.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readInside, writeInside } from '../../runtime/safe-open.ts';

/**
 * Two buffers, read into by turns: the next read runs while this one is hashed, and no chunk is fresh
 * memory (a read stream's new 4 MiB chunks made hashing 2-3x slower on a virtual machine's page faults).
 */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(file, 'r');
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let at = 0;
    let turn = 0;
    let next = fh.read(buffers[0]!, 0, CHUNK, 0);
    for (;;) {
      const { bytesRead, buffer } = await next;
      if (!bytesRead) break;
      at += bytesRead;
      turn ^= 1;
      next = fh.read(buffers[turn]!, 0, CHUNK, at);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

const CHUNK = 8 << 20;

const IndexSchema = z.record(z.string(), z.object({ size: z.number(), mtimeMs: z.number(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }));
type Index = z.infer<typeof IndexSchema>;

/** The stored hash when it was taken of the file as it is now (same size and mtime). */
function current(entry: Index[string] | undefined, s: Stats): string | undefined {
  return entry && entry.size === s.size && entry.mtimeMs === s.mtimeMs ? entry.sha256 : undefined;
}

/** The hash cache of one models folder. One instance per folder and process keeps writes in order. */
export class HashIndex {
  private index: Promise<Index> | undefined;
  private writes: Promise<void> = Promise.resolve();
  readonly file: string;

  constructor(readonly modelsDir: string) {
    this.file = path.join(modelsDir, '.sha256.json');
  }

  /** The file's sha256: from the index when its size and mtime are unchanged, else hashed and stored. */
  async sha256(file: string): Promise<string> {
    const [key, s, index] = await this.lookup(file);
    const cached = current(index[key], s);
    if (cached) return cached;
    const sha256 = await sha256File(file);
    index[key] = { size: s.size, mtimeMs: s.mtimeMs, sha256 };
    this.writes = this.writes.then(() => writeInside(this.modelsDir, path.basename(this.file), JSON.stringify(index)));
    await this.writes;
    return sha256;
  }

  /** The file's sha256 when the index has it for the file's current size and mtime; never reads the file. */
  async cached(file: string): Promise<string | undefined> {
    const [key, s, index] = await this.lookup(file);
    return current(index[key], s);
  }

  private async lookup(file: string) {
    const key = path.relative(this.modelsDir, path.resolve(file)).split(path.sep).join('/');
    return [key, await stat(file), await (this.index ??= this.load())] as const;
  }

  private async load(): Promise<Index> {
    try {
      const parsed = IndexSchema.safeParse(JSON.parse((await readInside(this.modelsDir, path.basename(this.file))).toString('utf8')));
      // A damaged index only costs hashing again.
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }
}

const indexes = new Map<string, HashIndex>();

/** The shared index of a models folder. */
export function hashIndex(modelsDir: string): HashIndex {
  const dir = path.resolve(modelsDir);
  let index = indexes.get(dir);
  if (!index) indexes.set(dir, (index = new HashIndex(dir)));
  return index;
}

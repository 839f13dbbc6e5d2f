// Built and converted models (ONNX graphs, weight files), cached under <models>/converted/<key>/ where
// the key hashes the source's sha256 and the build's config: a new source or a changed config gets a
// new folder, never a stale one. Folders are built under a temporary name and renamed into place.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { stableJson } from '../../runtime/cache-key.ts';
import { tempBeside } from '../../runtime/safe-open.ts';

/** The cache key of a build: 32 hex digits of sha256(source hash, config). */
export function convertedKey(sourceSha256: string, config: unknown): string {
  return createHash('sha256').update(sourceSha256).update('\0').update(stableJson(config)).digest('hex').slice(0, 32);
}

export function convertedFolder(modelsDir: string, key: string): string {
  if (!/^[0-9a-f]{32}$/.test(key)) throw new Error(`not a converted-model key: ${key}`);
  return path.join(modelsDir, 'converted', key);
}

const building = new Map<string, Promise<string>>();

/**
 * The folder of a cached build, running `build(dir)` into a temporary folder first when it is not there.
 * Concurrent calls for one key in this process share the build; another process building the same key
 * at the same time loses nothing (the first rename wins, the other copy is removed).
 */
export function ensureConverted(modelsDir: string, key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dir = convertedFolder(modelsDir, key);
  let pending = building.get(dir);
  if (!pending) {
    pending = buildOnce(dir, build).finally(() => building.delete(dir));
    building.set(dir, pending);
  }
  return pending;
}

async function buildOnce(dir: string, build: (dir: string) => Promise<void>): Promise<string> {
  if (existsSync(dir)) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = tempBeside(dir);
  await mkdir(tmp);
  try {
    await build(tmp);
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  return dir;
}

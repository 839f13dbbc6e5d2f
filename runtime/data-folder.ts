import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';

export const DATA_SUBFOLDERS = ['input', 'output', 'models', 'cache', 'graphs', 'runs', 'components'] as const;
export type DataSubfolder = (typeof DATA_SUBFOLDERS)[number];

/** The one data folder: everything nodes and endpoints read or write lives below it. */
export interface DataFolders {
  root: string;
  input: string;
  output: string;
  models: string;
  cache: string;
  graphs: string;
  /** The server's run history, one JSON record per ended run. */
  runs: string;
  /** The component library: one versioned component per file. */
  components: string;
}

/** Resolves the data folder (argument, then FACECHAIN_DATA, then ./data) and creates its layout. */
export function openDataFolders(root?: string): DataFolders {
  const abs = path.resolve(root ?? process.env.FACECHAIN_DATA ?? 'data');
  mkdirSync(abs, { recursive: true });
  const real = realpathSync(abs);
  const folders = { root: real } as DataFolders;
  for (const sub of DATA_SUBFOLDERS) {
    folders[sub] = path.join(real, sub);
    mkdirSync(folders[sub], { recursive: true });
  }
  return folders;
}

export class PathEscapeError extends Error {
  override name = 'PathEscapeError';
}

/**
 * Joins a user-given relative path onto a base folder, refusing anything that would leave it: absolute
 * paths, `..` segments, NUL bytes, backslashes, and symlinks that point outside.
 */
export function safeJoin(base: string, relative: string): string {
  if (typeof relative !== 'string' || relative.length === 0 || relative.length > 1000) {
    throw new PathEscapeError('Path must be a non-empty relative path');
  }
  if (relative.includes('\0') || relative.includes('\\') || path.isAbsolute(relative)) {
    throw new PathEscapeError(`Path "${relative}" is not a plain relative path`);
  }
  const parts = relative.split('/');
  if (parts.some((p) => p === '..')) throw new PathEscapeError(`Path "${relative}" leaves its folder`);
  const baseReal = realpathSync(base);
  const joined = path.resolve(baseReal, relative);
  if (!isInside(baseReal, joined)) throw new PathEscapeError(`Path "${relative}" leaves its folder`);
  // Follow symlinks of the deepest existing entry: a link must not lead outside, and a broken one could
  // make a later write create its target wherever it points.
  let probe = joined;
  while (!entryExists(probe)) probe = path.dirname(probe);
  let real: string;
  try {
    real = realpathSync(probe);
  } catch {
    throw new PathEscapeError(`Path "${relative}" goes through a broken link`);
  }
  if (!isInside(baseReal, real)) throw new PathEscapeError(`Path "${relative}" leaves its folder`);
  return joined;
}

/** Whether a directory entry is there, a broken symlink included. */
function entryExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export function isInside(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

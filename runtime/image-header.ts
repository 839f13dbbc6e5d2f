// An image file's size as its header says, read once per version of the file: the memory estimate of a
// run asks for the headers of every photo it loads, and reruns of a graph load the same photos.
import { statSync } from 'node:fs';
import sharp from 'sharp';

export interface ImageHeader {
  width: number;
  height: number;
  /** EXIF orientation, 1 when none. */
  orientation: number;
  hasAlpha: boolean;
}

/** Headers kept, the most recently asked last; a file that changes (size, time, inode) is read again. */
const KEPT = 2000;
const headers = new Map<string, Promise<ImageHeader>>();

export function imageHeader(file: string): Promise<ImageHeader> {
  const { size, mtimeMs, ino } = statSync(file);
  const key = `${file}\n${size}:${mtimeMs}:${ino}`;
  let header = headers.get(key);
  if (header) headers.delete(key);
  else header = sharp(file).metadata().then((m) => ({ width: m.width ?? 0, height: m.height ?? 0, orientation: m.orientation ?? 1, hasAlpha: m.hasAlpha }));
  headers.set(key, header);
  // A file that could not be read is read again next time (it may be there by then).
  header.catch(() => headers.get(key) === header && headers.delete(key));
  for (const old of headers.keys()) {
    if (headers.size <= KEPT) break;
    headers.delete(old);
  }
  return header;
}

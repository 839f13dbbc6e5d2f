// Files and folders appear whole or not at all: written under a unique temporary name, then renamed.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/** A temporary name beside `target`, unique across processes. */
export function tempBeside(target: string): string {
  return `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempBeside(file);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

// One place for the temporary folders tests and benches make, so each is removed when they are done.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

/** A new empty folder `facechain-test-<label>-XXXXXX` in the temp folder, removed by removeTempDirs(). */
export function tempDir(label = 'tmp'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `facechain-test-${label}-`));
  made.add(dir);
  return dir;
}

/**
 * A folder shared by the tests of one `npm test` (a cache worth keeping between files, e.g. converted
 * face models): inside the run's own temp folder, which the global teardown removes.
 */
export function sharedDir(name: string): string {
  return path.join(os.tmpdir(), `facechain-shared-${name}`);
}

/** Removes every folder tempDir() made in this process (each test file's afterAll, a bench's end). */
export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.clear();
}
